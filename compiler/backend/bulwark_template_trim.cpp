// bulwark-template-trim IN.bc OUT.bc: writes IN's bitcode without the kernel types its BPF
// object never defines (TemplateTrim.h). Build time only.
// Exit status: 0 written, 1 a step failed (the message says which), 2 bad arguments.
#include "TemplateTrim.h"

#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>

int main(int argc, char **argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: bulwark-template-trim IN.bc OUT.bc\n");
    return 2;
  }
  std::ifstream in(argv[1], std::ios::binary);
  std::string err = in ? "" : "cannot open it";
  std::string bitcode((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::string out = err.empty() ? bulwark::backend::trimTemplate(bitcode, &err) : "";
  if (err.empty()) {
    std::ofstream o(argv[2], std::ios::binary | std::ios::trunc);
    o.write(out.data(), static_cast<std::streamsize>(out.size()));
    o.close();
    if (!o)
      err = std::string("cannot write ") + argv[2];
  }
  if (!err.empty()) {
    std::fprintf(stderr, "bulwark-template-trim: %s: %s\n", argv[1], err.c_str());
    std::remove(argv[2]);
    return 1;
  }
  return 0;
}
