{
	"targets": [
		{
			"target_name": "plexus-shim",
			"type": "executable",
			"sources": ["plexus-shim.c"],
			"defines": ["PLEXUS_VERSION=\"<!(node -p \"require('../package.json').version\")\""],
			"cflags": ["-std=gnu11", "-O2", "-Wall", "-Wextra", "-Werror"],
			"ldflags": ["-static", "-s"]
		}
	]
}
