{
  "targets": [
    {
      "target_name": "bpfmap_native",
      "sources": ["native/bpf_call.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Werror"]
    }
  ]
}
