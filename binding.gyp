{
  "targets": [
    {
      "target_name": "lvsd_native",
      "sources": ["src/native/lvsd_native.c"],
      "cflags": ["-Wall", "-Wextra", "-Werror", "-O2", "-fstack-protector-strong", "-D_FORTIFY_SOURCE=2"],
      "ldflags": ["-Wl,-z,relro,-z,now"]
    }
  ]
}
