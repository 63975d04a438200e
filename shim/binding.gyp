{
	"targets": [
		{
			"target_name": "plexus-shim",
			"type": "executable",
			"sources": ["plexus-shim.c"],
			"defines": ["PLEXUS_VERSION=\"<!(node -p \"require('../package.json').version\")\""],
			"cflags": ["-std=gnu11", "-O2", "-Wall", "-Wextra", "-Werror"],
			"ldflags": ["-static", "-s"]
		},
		{
			"target_name": "plexus-chroot-exec",
			"type": "executable",
			"sources": ["plexus-chroot-exec.c"],
			"cflags": ["-std=gnu11", "-O2", "-Wall", "-Wextra", "-Werror"],
			"ldflags": ["-static", "-s"]
		}
	]
}
