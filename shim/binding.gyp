{
	"targets": [
		{
			"target_name": "plexus-shim",
			"type": "executable",
			"sources": ["plexus-shim.c"],
			"cflags": ["-std=gnu11", "-O2", "-Wall", "-Wextra", "-Werror"],
			"ldflags": ["-static", "-s"]
		}
	]
}
