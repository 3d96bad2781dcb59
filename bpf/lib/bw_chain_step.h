/* The chain step's library side (BW_FINISH in bw_lib.h): standalone or chained, the verdict
 * folded into bw_state (the next slot, past those out of scope: bw_next_in_scope). */
#ifndef BULWARK_BW_CHAIN_STEP_H
#define BULWARK_BW_CHAIN_STEP_H

BW_API int bw_chained(void) { return bw_cfg_lane != BW_LANE_NONE; }
BW_API __u32 bw_slot(void) { return bw_cfg_slot; }
BW_API __u32 bw_lane(void) { return bw_cfg_lane; }

/* Folding touches bw_state (its CPU's number is a helper call) only where it must: a deny is
 * written at once; an allow leaves the state as it is, and the verdict folded so far is read
 * where the walk ends here (the last program of the lane, or a failed tail call). */
BW_API void bw_fold_deny(int verdict) {
  struct bw_state *st = bw_state_here();
  if (st)
    st->verdict = (__u32)verdict;
}

/* The verdict folded so far (`verdict`, this program's, when the state cannot be read). */
BW_API int bw_walk_verdict(int verdict) {
  struct bw_state *st = bw_state_here();
  return st ? (int)st->verdict : verdict;
}

/* As bw_walk_verdict, by the last program of the lane: it counts the walk as ended. */
BW_API int bw_walk_end(int verdict) {
  struct bw_state *st = bw_state_here();
  if (!st)
    return verdict;
  st->depth++;
  return (int)st->verdict;
}

#endif
