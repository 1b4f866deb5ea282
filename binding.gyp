{
  # werror=1 (set by the repository's own builds, scripts/install.js) makes warnings errors; a
  # user's install leaves it 0, so a warning from a newer compiler cannot break it.
  "variables": { "werror%": 0 },
  "targets": [
    {
      "target_name": "bpfmap_native",
      "sources": ["native/bpf_call.c"],
      # Node-API 8 (every Node >= 20) only: one build per architecture serves them all.
      "defines": ["NAPI_VERSION=8"],
      "cflags": ["-O2", "-Wall", "-Wextra"],
      "conditions": [["werror==1", { "cflags": ["-Werror"] }]]
    }
  ]
}
