{
  "targets": [
    {
      "target_name": "netplumb",
      "sources": [
        "native/addon.cc",
        "native/errors.cc",
        "native/instance.cc",
        "native/inet_socket.cc",
        "native/monitor.cc",
        "native/pipeline.cc",
        "native/tun.cc",
        "native/netlink_socket.cc",
        "native/netns.cc",
        "native/sysctl.cc",
        "native/worker_pool.cc"
      ],
      "include_dirs": ["<!@(node -p \"require('node-addon-api').include\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions", "-O3"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-O3", "-std=gnu++17", "-std=gnu++20"],
      "cflags": ["-O2", "-Wall", "-Wextra"],
      "cflags_cc": ["-std=c++17", "-fexceptions"],
      "ldflags": [
        # Pool threads are process-wide and may sleep in this library after a worker
        # thread's environment has unloaded it: never unmap the code.
        "-Wl,-z,nodelete"
      ],
      "configurations": {
        "Release": {
          "cflags!": ["-O3"],
          "cflags_cc!": ["-O3"]
        }
      }
    }
  ]
}
