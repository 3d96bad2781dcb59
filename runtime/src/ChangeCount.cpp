#include "ChangeCount.h"

#include "Bpf.h"
#include "Error.h"
#include "bw_abi.h"

#include <sys/mman.h>

namespace bulwark::rt {

namespace {
constexpr size_t kHintBytes = size_t(BW_HINT_MAP_WORDS) * sizeof(uint64_t);
}

HintWords::HintWords(int fd) {
  auto info = mapInfo(fd);
  if (!info || info->maxEntries != BW_HINT_MAP_WORDS)
    throw Error(Exit::BadBundle, "the shared map bw_hint is not an array of " + std::to_string(BW_HINT_MAP_WORDS) +
                                     " words");
  void *mem = ::mmap(nullptr, kHintBytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (mem == MAP_FAILED)
    throw Error(Exit::Failed, "cannot map bw_hint: " + errnoText(errno));
  words_ = static_cast<uint64_t *>(mem);
}

HintWords::~HintWords() { ::munmap(words_, kHintBytes); }

ChangeCount::~ChangeCount() = default;

void ChangeCount::prepare() {
  if (words_ || !exists(pins_.sharedMap("bw_hint")))
    return;
  auto fd = openMapPin(pins_.sharedMap("bw_hint"));
  if (!fd)
    throw Error(Exit::Failed, "cannot open the shared map bw_hint: " + errnoText(errno));
  words_ = std::make_unique<HintWords>(fd->get());
}

void ChangeCount::count() {
  prepare();
  if (words_)
    __atomic_fetch_add(&(*words_)[BW_HINT_DECISIONS], 1, __ATOMIC_SEQ_CST);
}

} // namespace bulwark::rt
