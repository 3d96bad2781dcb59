/* Tests on identity groups, called by the generated code: the object's meaning (bw_match_object)
 * and the string lookup of the process's view, only where it can add denials (bw_match_view);
 * fields read only by such groups extract their object alone (bw_object_only). */
#ifndef BULWARK_BW_IDENTITY_H
#define BULWARK_BW_IDENTITY_H

/* The string of a path is a view the process shapes; it is read for an identity group only to
 * add denials for protected paths that had no object at load (bw_cfg_view_groups, set by the
 * runtime). Where no group on a field needs it, the field's object is extracted alone. */

/* Called by bw_lazy_<H> for a hook field read only by identity groups `groups` (bits):
 * `need_bit` when its string is not built this event, else 0. */
BW_API __u64 bw_object_only(struct bw_event *ev, __u32 slot, __u32 groups, __u64 need_bit) {
  if (bw_cfg_view_groups & groups)
    return 0;
  str_of(ev, slot)->object_only = 1;
  return need_bit;
}

/* 0 when `s` cannot be a path group `index` reads the view for: its first bytes match none of
 * the group's heads (bw_cfg_view_head & _mask). */
static __always_inline int view_may_match(struct bw_str *s, __u32 index) {
  if (index >= BW_IDENT_GROUPS)
    return 1;
  if (!((bw_cfg_view_groups >> index) & 1))
    return 0;
  __u64 head;
  __builtin_memcpy(&head, s->data, sizeof head);
#pragma unroll
  for (int j = 0; j < BW_VIEW_HEADS; j++)
    if ((head & bw_cfg_view_mask[index][j]) == bw_cfg_view_head[index][j])
      return 1;
  return 0;
}

/* The string lookup of identity group `group`, `where` = its position in bw_cfg_ident_* |
 * BW_VIEW_WHERE_PREFIX for a prefix group: what the process's view may add (denials), where it
 * can match. Inlined into the decision: the tests that rule the view out are a few compares,
 * and for a group whose every path had an object at load none at all (the verifier drops the
 * code: bw_cfg_view_groups is read-only data). */
BW_INLINE_API __u32 bw_match_view(struct bw_event *ev, __u32 slot, __u32 group, __u32 where, __u64 *atoms) {
  struct bw_str *s = str_of(ev, slot);
  if (!view_may_match(s, where & BW_VIEW_WHERE_INDEX) || s->object_only)
    return BW_NO_RULE;
  return where & BW_VIEW_WHERE_PREFIX ? bw_match_prefix(ev, slot, group, atoms) : bw_match_exact(ev, slot, group, atoms);
}

/* The strings of need bits `mask` are taken as their object alone (1) or in full (0): a
 * record takes every string in full. */
BW_API void bw_objects_only(struct bw_event *ev, __u64 mask, __u32 only) {
#pragma unroll
  for (int i = 0; i < BW_STR_SLOTS; i++)
    if (mask & BW_NEED_STR(i))
      ev->strs[i].object_only = only;
}

/* What the object means in identity group `group` (beside the string lookup, which only holds
 * what the process's view may add: denials): bw_match_object's call where the object may have
 * a label of the policy. */
static __attribute__((noinline)) __u32 match_object(struct bw_event *ev, __u32 slot, __u32 group, __u32 prefix,
                                                     __u64 *atoms) {
  struct bw_str *s = str_of(ev, slot);
  if (slot == 1 && s->object_only && !s->obj) /* process.exe: its object, at its first use */
    exe_object(s, 0, prefix);
  if (slot == 4 && s->object_only && !s->obj) /* parent.exe: likewise */
    exe_object(s, 1, prefix);
  struct dentry *d = (struct dentry *)s->obj;
  if (!d)
    return BW_NO_RULE;
  struct bw_match_val v;
  facts_for(&s->facts, d, s->dev, s->ino, prefix);
  facts_val(&s->facts, d, s->dev, s->ino, group, prefix, &v);
  or_atoms(atoms, &v);
  return v.best;
}

/* 1 when no group of this policy can have a label for the object of `s`, as far as its facts
 * (worked out for a group of kind `prefix`) and this policy's own hints tell without a walk:
 * its inode, or (exact) its directory's entries, or (prefix) its one hinted ancestor, has no
 * hint of this policy. What match_object would find then: nothing. */
static __always_inline int object_quiet(struct bw_str *s, __u32 prefix) {
  struct bw_facts *f = &s->facts;
  __u32 parts = BW_FACTS_SELF | (prefix ? BW_FACTS_UNDER : BW_FACTS_NAME);
  if ((f->done & parts) != parts || own_self(f, s->dev, s->ino))
    return 0;
  if (!prefix)
    return !own_dir(f, s->dev);
  return !f->incomplete && (f->nunder == 0 || (f->nunder == 1 && !own_under(f, s->dev, 0)));
}

/* Inlined into the decision: most objects have no label of the policy (object_quiet): no call,
 * no label lookup. */
BW_INLINE_API __u32 bw_match_object(struct bw_event *ev, __u32 slot, __u32 group, __u32 prefix, __u64 *atoms) {
  if (object_quiet(str_of(ev, slot), prefix))
    return BW_NO_RULE;
  return match_object(ev, slot, group, prefix, atoms);
}

#endif
