/* The event record every hook template fills and the generated decision code reads.
 * Shared by BPF C (templates) and C++ (back end offsets, runtime event decoding):
 * fixed-width fields only, no pointers, natural alignment. Field meaning per hook is
 * in hooks.def (slot kind + slot index). */
#ifndef BULWARK_BW_EVENT_H
#define BULWARK_BW_EVENT_H

#ifdef __BPF__
typedef __u8 bw_u8; typedef __u32 bw_u32; typedef __u64 bw_u64;
#else
#include <stdint.h>
typedef uint8_t bw_u8; typedef uint32_t bw_u32; typedef uint64_t bw_u64;
#endif

#define BW_PATH_MAX 4096       /* PATH_MAX, including the NUL */
#define BW_INT_SLOTS 10
#define BW_ADDR_SLOTS 2
#define BW_STR_SLOTS 8

/* What the hints of bw_hint (bw_match.h) say about one object, worked out once per event
 * for every identity group of every policy: which of its inode, its directory's entries and its
 * ancestors carry labels at all. Labels are looked up only where a hint says so. */
#define BW_FACT_UNDER 8        /* hinted ancestors kept; more fail closed (incomplete) */
#define BW_FACTS_SELF 1u       /* parts of struct bw_facts worked out */
#define BW_FACTS_NAME 2u
#define BW_FACTS_UNDER 4u
#define BW_FACTS_CROWDED 2u    /* a value of `incomplete`, not a `done` bit */
struct bw_facts {
  bw_u32 done;        /* BW_FACTS_* bits; cleared with its string's slot (bw_slots_fresh) */
  bw_u32 self;        /* 1: the inode may have labels */
  bw_u32 nunder;      /* hinted ancestors in under[] */
  bw_u32 incomplete;  /* 1: the walk did not reach the filesystem's root; BW_FACTS_CROWDED:
                       * more hinted ancestors than under[] holds (every one is looked up) */
  bw_u64 dir;         /* the directory's inode when its entries may have labels, else 0 */
  bw_u64 name;        /* BW_IDENT_NAME(hash of the object's name) when dir != 0 */
  bw_u64 under[BW_FACT_UNDER]; /* inodes of hinted ancestors, nearest first */
};

/* A NUL-terminated string; len excludes the NUL. A path taken from a kernel object also
 * carries the object itself: the dentry the kernel acts on (after overlayfs is resolved to
 * the real file), the kernel dev_t of its super block and its inode number. Path rules on
 * exact and prefix paths decide on the object (its identity and its ancestors), the string
 * is only the process's view (bw_match.h). */
struct bw_str {
  bw_u32 len;
  bw_u32 truncated; /* 1 when the source was longer than BW_PATH_MAX - 1 */
  bw_u64 ino;       /* 0: no inode (a name about to be created, or no file) */
  bw_u32 dev;       /* kernel encoding: major << 20 | minor */
  bw_u32 object_only; /* set before extraction: the decision reads only the object (ino, dev,
                       * obj), so no string is built (len 0) */
  bw_u64 obj;       /* struct dentry * of the object, 0: no object behind this string */
  struct bw_facts facts; /* about obj, for identity groups */
  char data[BW_PATH_MAX];
};

/* The process's view of a directory's path (what bpf_d_path gives), kept per CPU between
 * events (bw_dirpath): a file opened in it has that path, '/' and its name. An entry stands
 * only for the directory, mount and process root it was built for, and only while the
 * kernel's rename and mount sequences are those it was built under. */
#define BW_DIR_PATH_MAX (BW_PATH_MAX - 256 - 1) /* room left for '/' and a name (NAME_MAX 255) */
struct bw_dir_key {
  bw_u64 dir;       /* struct dentry * of the directory; 0: no entry */
  bw_u64 inode;     /* its struct inode *, */
  bw_u64 ino;       /* inode number */
  bw_u64 mnt;       /* the struct vfsmount * it is seen in */
  bw_u64 root;      /* the process root's struct dentry * */
  bw_u64 root_mnt;  /* and struct vfsmount * */
  bw_u32 gen;       /* the inode's i_generation */
  bw_u32 renames;   /* rename_lock's sequence before the path was built */
  bw_u32 mounts;    /* mount_lock's */
  bw_u32 pad;
};
/* The identity facts every file of a directory shares (struct bw_facts: whether the
 * directory's entries have hints, and the hinted ancestors of a file in it, the directory
 * first), kept per CPU between events (bw_dirfacts). An entry stands only for the directory it
 * was worked out for, and only while no rename (rename_lock) and no hint set (bw_hint's
 * BW_HINT_CHANGES) happened since: ancestors change only by a rename, and hints only grow. */
struct bw_dir_facts {
  bw_u64 dir;        /* struct dentry * of the directory; 0: no entry */
  bw_u64 inode;      /* its struct inode * */
  bw_u64 ino;        /* inode number */
  bw_u64 hints;      /* bw_hint's BW_HINT_CHANGES before the facts were worked out */
  bw_u64 writes;     /* odd while the entry is rewritten: a reader that saw it change drops it */
  bw_u32 gen;        /* the inode's i_generation */
  bw_u32 dev;        /* kernel dev_t of its super block */
  bw_u32 renames;    /* rename_lock's sequence before the facts were worked out */
  bw_u32 names;      /* 1: the directory's entries may have labels (its NAMES hint) */
  bw_u32 nunder;     /* hinted ancestors of a file in the directory, in under[] */
  bw_u32 pad;
  bw_u64 under[BW_FACT_UNDER]; /* their inodes, nearest first */
};
struct bw_dir_path {
  struct bw_dir_key key;
  bw_u64 writes;    /* odd while the entry is rewritten: a reader that saw it change drops it */
  bw_u32 len;       /* of data, without the NUL */
  bw_u32 pad;
  char data[BW_PATH_MAX];
};

/* IPv4 is stored as an IPv4-mapped IPv6 address (::ffff:a.b.c.d) so one LPM trie
 * serves both families. */
struct bw_addr {
  bw_u32 family;
  bw_u32 pad;
  bw_u8 bytes[16];
};

/* A mark a test found set (bw_mark_has): what the record of the rule that tested it tells of
 * the earlier step. */
#define BW_RECORD_MARKS 4      /* found marks a record carries; more tested are not told */
#define BW_EVENT_FOUND 8       /* an event's room for them: a full list writes past its end */
struct bw_found_mark {
  bw_u64 id;         /* the mark (bw_abi.h, struct bw_mark) */
  bw_u64 set_ns;     /* bw_event: when set, boot clock; bw_record: on the clock of ktime_ns */
  bw_u32 rule;       /* the rule that set it, in `instance` */
  bw_u32 instance;   /* the setting policy's instance */
  bw_u32 who;        /* BW_MARK_ON_PROCESS or BW_MARK_ON_PARENT: whose marks held it */
  bw_u32 pad;
};

struct bw_event {
  bw_u32 hook;       /* BW_HOOK_* index, order of hooks.def */
  bw_u32 rule;       /* decided rule id, or BW_NO_RULE */
  /* The scratch event is shared by the policies chained on one event (bw_scratch): what one
   * extracted the next reads. `seq` is the event's bw_state.seq, `filled` the need bits
   * extracted in full so far (a field taken as its object alone is not in it). */
  bw_u64 seq;
  bw_u64 filled;
  /* The need bits whose slots this event has reset (bw_slots_fresh in bw_lib.h): a slot not in
   * it may still hold an earlier event's value, and is reset before it is filled. */
  bw_u64 touched;
  bw_u64 ints[BW_INT_SLOTS];
  struct bw_addr addrs[BW_ADDR_SLOTS];
  struct bw_str strs[BW_STR_SLOTS];
  /* Marks found by the tests of the last rule evaluated that tests marks (found_rule; found_n
   * of them, reset before each such rule), and how many it had found when the decision was
   * made (decided_n): the record tells them if found_rule decided. */
  bw_u32 found_n, decided_n;
  bw_u32 found_rule;
  /* 1 when the decision said no rule of the policy can hold for any open with this event's
   * bw_quiet key (bw_abi.h): set by bw_decide_<H> and the precheck of hooks that keep one. */
  bw_u32 quiet;
  struct bw_found_mark found[BW_EVENT_FOUND];
};

#define BW_NO_RULE 0xffffffffu

#endif
