// The templates bulwarkc embeds are trimmed of the kernel types their objects never define
// (TemplateTrim.h), and build the same types as the bitcode clang made.
#include "BtfCanon.h"
#include "TemplateTrim.h"
#include "Templates.h"

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <vector>

using namespace bulwark::backend;

namespace {

// The bitcode clang made of template `name`, before trimming (bpf/templates in the build).
std::string fullBitcode(std::string_view name) {
  std::ifstream in(std::string(BULWARK_TEMPLATE_FULL_DIR) + "/" + std::string(name) + ".bc", std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string_view embedded(const TemplateBlob &b) {
  return {reinterpret_cast<const char *>(b.data), b.size};
}

} // namespace

// Every embedded template builds an object with the same .BTF and .BTF.ext as its full bitcode,
// and the large ones (those that reach the kernel's big structs) are under half of it.
TEST(TemplateTrim, EachEmbeddedTemplateBuildsTheTypesOfItsFullBitcode) {
  ASSERT_FALSE(templateBlobs().empty());
  for (const TemplateBlob &b : templateBlobs()) {
    SCOPED_TRACE(std::string(b.name));
    std::string full = fullBitcode(b.name), err;
    ASSERT_FALSE(full.empty());
    std::vector<uint8_t> want = templateObject(full, &err);
    ASSERT_FALSE(want.empty()) << err;
    std::vector<uint8_t> got = templateObject(embedded(b), &err);
    ASSERT_FALSE(got.empty()) << err;
    EXPECT_TRUE(sameBtf(want, got, &err)) << err;
    if (full.size() > 200 * 1024) {
      EXPECT_LT(b.size * 2, full.size()) << "not trimmed: " << b.size << " of " << full.size() << " bytes";
    }
  }
}

// The object of the file.open template defines the kernel structs it reads by CO-RE and the
// library's event; another template's object has other types.
TEST(TemplateTrim, ObjectsDefineTheStructsTheyRead) {
  std::string err;
  std::vector<uint8_t> open = templateObject(fullBitcode("file_open"), &err);
  ASSERT_FALSE(open.empty()) << err;
  std::set<std::string> names;
  ASSERT_TRUE(definedComposites(open, names, &err)) << err;
  EXPECT_TRUE(names.count("file"));
  EXPECT_LT(names.size(), 200u);
  std::vector<uint8_t> connect = templateObject(fullBitcode("socket_connect"), &err);
  ASSERT_FALSE(connect.empty()) << err;
  EXPECT_TRUE(sameBtf(open, open, &err));
  EXPECT_FALSE(sameBtf(open, connect, &err));
  EXPECT_EQ(err, ".BTF differs");
}

TEST(TemplateTrim, RefusesWhatIsNotBitcode) {
  std::string err;
  EXPECT_TRUE(trimTemplate("not bitcode", &err).empty());
  EXPECT_NE(err.find("cannot read bitcode"), std::string::npos) << err;
  err.clear();
  EXPECT_TRUE(templateObject("", &err).empty());
  EXPECT_FALSE(err.empty());
}
