"""Analysis and rendering for bench/run: records -> latest.json, a text table, Markdown, SVG.

Ratios are computed per round (every configuration of an operation is measured once per
round, next to the others) and summarised by their median over rounds; absolute times are
TCG times and only shown for orientation.
"""
import math
import statistics
from collections import defaultdict

OPS_HOOK = {"open": "file.open", "exec": "process.exec", "unlink": "file.unlink", "connect": "net.connect",
            "mmap": "file.mmap_exec", "files": "(several)"}
# The shipped policies loaded together: goal per operation (added cost, percent).
SHIPPED_GOALS = {"open": 10.0, "unlink": 10.0, "files": 5.0, "connect": 3.0, "mmap": 3.0, "exec": 3.0}
# A measurement's time per operation: the mean over its batches, i.e. its whole time over its
# operations. Not their median: the kernel's timer tick (every 4 ms) runs work deferred by the
# operations (RCU callbacks freeing their files, dentries and inodes; 0.2-0.7k per operation on
# average, 1.6-2.6k per operation more in a batch that holds a tick); a batch of 100 operations
# holds a tick or not, and the median batch was the one without it for a fast configuration and
# the one with it for a slower one (creat+close+unlink with the shipped policies: +40% by
# medians, +31% by means, the same run).
STAT = "ns_mean"
KIND_ORDER = ["exact", "prefix", "suffix", "glob", "cidr", "port", "uid"]
CHART_KINDS = KIND_ORDER[:-1]
COLORS = {"exact": "#1f77b4", "prefix": "#ff7f0e", "suffix": "#2ca02c", "glob": "#d62728",
          "cidr": "#9467bd", "port": "#8c564b", "landlock_exact": "#17becf", "landlock_prefix": "#bcbd22",
          "empty": "#7f7f7f"}


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def parse_cfg(cfg):
    """'bulwark_exact_100' -> ('bulwark', 'exact', 100); 'none' -> ('none', None, None)."""
    parts = cfg.split("_")
    if len(parts) == 3 and parts[2].isdigit():
        return parts[0], parts[1], int(parts[2])
    return cfg, None, None


def analyse(meta, compiled, records, ops):
    meta = dict(meta)
    meta["guest"] = {}
    for r in records:
        if r.get("type") == "env":
            meta["guest"] = {k: v for k, v in r.items() if k not in ("type", "run", "cpus")}
    meta["guest_cpus"] = {r["run"]: r.get("cpus") for r in records if r.get("type") == "env"}
    meta["guest_finished"] = {run: any(r.get("type") == "done" and r["run"] == run for r in records)
                              for run in meta.get("guest_exit", {})}
    res = {"meta": meta, "compile": compiled, "cost": {}, "swap": [], "flood": {}, "targets": []}

    # ---- syscall cost ----
    # Each configuration's measurement sits between two baseline ("none") measurements of the
    # same round (seq - 1, seq + 1); its ratio is over their mean.
    by_op = defaultdict(lambda: defaultdict(dict))  # op -> round -> seq -> record
    for r in records:
        if r.get("type") == "cost":
            by_op[r["op"]][r["round"]][r["seq"]] = r
    for op in ops:
        rounds = by_op.get(op, {})
        per_cfg = defaultdict(list)  # cfg -> [(round, record, ratio)]
        nones = []
        for rd, seqs in sorted(rounds.items()):
            for sq, r in sorted(seqs.items()):
                if r["config"] == "none":
                    if "error" not in r and r.get(STAT):
                        nones.append(r[STAT])
                    continue
                base = [seqs[k][STAT] for k in (sq - 1, sq + 1)
                        if k in seqs and seqs[k]["config"] == "none" and seqs[k].get(STAT)
                        and "error" not in seqs[k]]
                ok = base and r.get(STAT) and "error" not in r
                ratio = r[STAT] / statistics.mean(base) if ok else None
                if ok:
                    r = dict(r, added_ns=r[STAT] - statistics.mean(base))
                per_cfg[r["config"]].append((rd, r, ratio))
        out = {"configs": {}, "unsupported": [], "kinds": {}, "landlock": {},
               "none_ns": med(nones),
               "noise_pct": (max(nones) / min(nones) - 1) * 100 if len(nones) > 1 else None}
        ratio_by = defaultdict(dict)  # cfg -> round -> ratio
        for c, items in per_cfg.items():
            setup, kind, n = parse_cfg(c)
            ok = [(rd, r, q) for rd, r, q in items if "error" not in r and q is not None]
            ratios = [q for _, _, q in ok]
            for rd, _, q in ok:
                ratio_by[c][rd] = q
            e = {"setup": setup, "kind": kind, "rules": n, "rounds": len(ok),
                 "ns": med([r[STAT] for _, r, _ in ok]), "ratio": med(ratios)}
            e["added_pct"] = (e["ratio"] - 1) * 100 if e["ratio"] is not None else None
            e["added_ns"] = med([r.get("added_ns") for _, r, _ in ok])
            if len(ratios) > 1:
                e["ratio_min"], e["ratio_max"] = min(ratios), max(ratios)
            if setup == "bulwark":
                e["load_wall_ms"] = med([r.get("load_wall_ms") for _, r, _ in ok])
                e["load_verify_ms"] = med([r.get("load_verify_ms") for _, r, _ in ok])
                e["load_total_ms"] = med([r.get("load_total_ms") for _, r, _ in ok])
                e["switch_us"] = med([r.get("switch_us") for _, r, _ in ok])
                # the policy's default counter saw every measured call, or the call skipped its
                # lane as a kept quiet open: the program ran, or had decided nothing for it
                e["counted"] = all(r.get("default_hits", 0) + r.get("quiet_hits", 0) >= r.get("ops", 0) > 0
                                   for _, r, _ in ok) if ok else None
            if setup == "landlock":
                e["landlock_setup_ms"] = med([r.get("landlock_setup_ms") for _, r, _ in ok])
            errors = sorted({r["error"] for _, r, _ in items if "error" in r})
            if errors:
                e["errors"] = errors
            out["configs"][c] = e
        # per kind: added cost by size, and largest vs smallest policy (per-round ratio of ratios)
        for setup in ("bulwark", "landlock"):
            kinds = defaultdict(dict)
            for c, e in out["configs"].items():
                if e["setup"] == setup and e["added_pct"] is not None:
                    kinds[e["kind"]][e["rules"]] = e["added_pct"]
            for kind, sizes in kinds.items():
                k = {"added_pct": dict(sorted(sizes.items()))}
                lo, hi = min(sizes), max(sizes)
                if hi > lo:
                    a, b = ratio_by[f"{setup}_{kind}_{lo}"], ratio_by[f"{setup}_{kind}_{hi}"]
                    rr = [b[rd] / a[rd] for rd in a if rd in b]
                    k["scaling"] = {"from": lo, "to": hi, "ratio": med(rr)}
                (out["kinds"] if setup == "bulwark" else out["landlock"])[kind] = k
        if "empty" in out["configs"]:
            out["empty_added_pct"] = out["configs"]["empty"]["added_pct"]
        others = others_step(ratio_by)
        if others:
            out["others"] = others
        widths = [(e["ratio_max"] - e["ratio_min"]) * 100 for e in out["configs"].values() if "ratio_max" in e]
        # differences smaller than this (percentage points) are not told apart by this run
        out["resolution_pct"] = max(0.2, med(widths) or 0.0) if widths else None
        if rounds or any(c["op"] == op for c in compiled):
            res["cost"][op] = out
    for rec in compiled:
        if "error" in rec:
            res["cost"].setdefault(rec["op"], {"configs": {}, "unsupported": [], "kinds": {}, "landlock": {}})
            res["cost"][rec["op"]]["unsupported"].append(
                {"kind": rec["kind"], "rules": rec["rules"], "error": rec["error"]})

    # ---- hot swap ----
    sw = defaultdict(list)
    for r in records:
        if r.get("type") == "swap":
            sw[r["config"]].append(r)
    # swap_N: `bulwark load` of v2; swap_staged_N: v2 staged first, timed from `bulwark switch`;
    # swap_signal_N: a daemon staged v2, timed from its SIGUSR1
    vias = ["load", "switch", "signal"]
    via_of = lambda c: "signal" if "signal" in c else "switch" if "staged" in c else "load"  # noqa: E731
    for c, recs in sorted(sw.items(), key=lambda kv: (int(kv[0].split("_")[-1]), vias.index(via_of(kv[0])))):
        ok = [r for r in recs if "error" not in r]
        lat = [r["latency_ms"] for r in ok]
        res["swap"].append({
            "rules": int(c.split("_")[-1]), "staged": via_of(c) != "load", "via": via_of(c), "rounds": len(ok),
            "latency_ms": med(lat), "latency_min_ms": min(lat) if lat else None,
            "latency_max_ms": max(lat) if lat else None,
            "resolution_us": med([r["resolution_us"] for r in ok]),
            "bulwark_exit_ms": med([r["bulwark_exit_ms"] for r in ok]),
            "load_verify_ms": med([r["load_verify_ms"] for r in ok]),
            "switch_us": med([r["switch_us"] for r in ok]),
            "checks_ms": med([r.get("checks_ms") for r in ok if r.get("checks_ms", -1) >= 0]),
            "next_denied_max_us": max([r.get("next_denied_max_us", 0) for r in ok], default=None) or None,
            "next_denied_last_us": med([r.get("next_denied_last_us") for r in ok]),
            "until_switch_ms": med([r.get("until_switch_ms") for r in ok]),
            "switch_to_decision_us": med([r.get("switch_to_decision_us") for r in ok]),
            "switch_to_decision_max_us": max([r.get("switch_to_decision_us", 0) for r in ok], default=None),
            "v1_decisions_after_switch": max([r.get("v1_decisions_after_switch", 0) for r in ok], default=None),
            "errors": sorted({r["error"] for r in recs if "error" in r}),
        })

    # ---- flood ----
    fl = defaultdict(list)
    for r in records:
        if r.get("type") == "flood":
            fl[r["config"].replace("flood_", "", 1)].append(r)
    for mode, recs in fl.items():
        ok = [r for r in recs if "error" not in r]
        e = {"rounds": len(ok), "errors": sorted({r["error"] for r in recs if "error" in r})}
        for k in ("syscalls_per_s", "decisions_per_s", "events_per_s", "reader_cpu_pct", "drain_ms", "seconds",
                  "reader_cpu_per_event_us"):
            e[k] = med([r.get(k) for r in ok])
        for k in ("syscalls", "rule_hits", "emitted", "delivered", "dropped", "ring_drops", "eperm", "limited"):
            e[k] = sum(r.get(k, 0) for r in ok)
        # counters lose nothing when hits == syscalls on the flooded path in every round
        e["counter_loss"] = sum(max(0, r.get("syscalls", 0) - r.get("rule_hits", 0)) for r in ok)
        e["counter_excess"] = sum(max(0, r.get("rule_hits", 0) - r.get("syscalls", 0)) for r in ok)
        if mode.startswith("deny"):
            # records that never reached the reader: dropped (ring full) or emitted and not delivered
            e["event_loss"] = sum(r.get("emitted", 0) - r.get("delivered", 0) + r.get("dropped", 0) for r in ok)
            e["events_offered_per_s"] = med([(r.get("emitted", 0) + r.get("dropped", 0)) / r["seconds"]
                                             for r in ok if r.get("seconds")])
        res["flood"][mode] = e

    res["targets"] = targets(res)
    return res


def count_id(cid, head):
    """N of a configuration id "HEAD_N" ("shipped_9": the shipped policies together,
    "others_24": those and 24 more that name other hooks), else None."""
    h, _, n = cid.partition("_")
    return int(n) if h == head and n.isdigit() else None


def others_step(ratio_by):
    """What the policies of "others_K" (the shipped ones and K more that name other hooks) add
    over the shipped ones alone: the median over rounds of the per-round difference of their
    added costs, in points, in all and per added policy. None without both configurations."""
    ship = next((c for c in ratio_by if count_id(c, "shipped") is not None), None)
    more = next((c for c in ratio_by if count_id(c, "others") is not None), None)
    if not ship or not more:
        return None
    diffs = [(ratio_by[more][rd] - ratio_by[ship][rd]) * 100 for rd in ratio_by[ship] if rd in ratio_by[more]]
    k = count_id(more, "others")
    d = med(diffs)
    return {"shipped": count_id(ship, "shipped"), "added_policies": k, "rounds": len(diffs), "points": d,
            "points_per_policy": None if d is None else d / k}


def fmt_pct(x):
    return "n/a" if x is None else f"{x:+.1f}%"


def targets(res):
    t = []
    open_ = res["cost"].get("open", {})
    for kind in ("exact", "prefix"):
        k = open_.get("kinds", {}).get(kind, {})
        sizes = k.get("added_pct", {})
        big = max(sizes) if sizes else None
        added = sizes.get(big) if big else None
        t.append({"name": f"open+close, {big or '10k'} {kind} rules: added cost vs no program",
                  "target": "<= +10%", "measured": fmt_pct(added),
                  "pass": None if added is None or big != 10000 else added <= 10.0})
        sc = k.get("scaling", {})
        r = sc.get("ratio")
        t.append({"name": f"open+close, {kind}: {sc.get('to', '10k')}-rule vs {sc.get('from', 1)}-rule policy",
                  "target": "<= 1.10x", "measured": "n/a" if r is None else f"{r:.3f}x",
                  "pass": None if r is None or sc.get("to") != 10000 else r <= 1.10})
    for op in ("open", "exec", "unlink"):
        c = res["cost"].get(op, {})
        for kind, ll in c.get("landlock", {}).items():
            bw = c.get("kinds", {}).get(kind, {}).get("added_pct", {})
            pairs = [(n, bw[n], ll["added_pct"][n]) for n in ll["added_pct"] if n in bw]
            if not pairs:
                continue
            tol = c.get("resolution_pct") or 0.0
            worse = [p for p in pairs if p[1] > p[2] + tol]
            ties = [p for p in pairs if abs(p[1] - p[2]) <= tol]
            n, b, l = max(pairs)
            detail = f"Bulwark higher at {len(worse)}/{len(pairs)} sizes"
            if ties:
                detail += f", within this run's resolution ({tol:.1f} points) at {len(ties)}"
            t.append({"name": f"{op}: Bulwark {kind} vs Landlock on the same paths (added cost)",
                      "target": "Bulwark <= Landlock",
                      "measured": f"at {n} rules: Bulwark {fmt_pct(b)}, Landlock {fmt_pct(l)}; {detail}",
                      "pass": not worse})
    for op, goal in SHIPPED_GOALS.items():
        for cid, e in res["cost"].get(op, {}).get("configs", {}).items():
            if count_id(cid, "shipped") is not None:
                t.append({"name": f"{op}: all {count_id(cid, 'shipped')} shipped policies loaded (added cost)",
                          "target": f"<= +{goal:.0f}%", "measured": fmt_pct(e["added_pct"]),
                          "pass": None if e["added_pct"] is None else e["added_pct"] <= goal})
    for op in ("open", "unlink"):
        o = res["cost"].get(op, {}).get("others")
        if not o or o["points"] is None:
            continue
        tol = res["cost"][op].get("resolution_pct") or 0.0
        span = f"the {o['shipped']} shipped policies and {o['added_policies']} more that name other hooks"
        t.append({"name": f"{op}: {span}, per added policy (added cost)", "target": "<= +1 point per policy",
                  "measured": f"{o['points_per_policy']:+.2f} points ({o['points']:+.1f} for {o['added_policies']})",
                  "pass": o["points_per_policy"] <= 1.0})
        if op == "open":
            t.append({"name": f"open+close: {span} vs the shipped ones alone",
                      "target": "unchanged: no more than this run's resolution",
                      "measured": f"{o['points']:+.1f} points (resolution {tol:.1f})",
                      "pass": o["points"] <= tol})
    comp = [c for c in res["compile"] if c["rules"] == 10000 and not c.get("breakdown")]
    if comp:
        ok = [c for c in comp if "error" not in c]
        worst = max(ok, key=lambda c: c["compile_s"]) if ok else None
        t.append({"name": "compile 10,000 rules, CPU time (each hook and kind that compiles)", "target": "< 1 s",
                  "measured": (f"worst {worst['compile_s']:.2f} s ({worst['hook']} {worst['kind']}); "
                               f"{len(comp) - len(ok)} of {len(comp)} do not compile yet") if worst else "none compile",
                  "pass": None if not ok else all(c["compile_s"] < 1.0 for c in ok)})
    for s in res["swap"]:  # the target is the staged paths': v2 staged ahead, then a switch command
        lat = s["latency_ms"]
        if not s.get("staged"):
            continue
        command = "the daemon's SIGUSR1" if s.get("via") == "signal" else "`bulwark switch`"
        t.append({"name": f"hot swap, {s['rules']}-rule policy staged: {command} -> first v2 decision (TCG)",
                  "target": "< 5 ms", "measured": "n/a" if lat is None else f"{lat:.1f} ms",
                  "pass": None if lat is None else lat < 5.0})
    d = res["flood"].get("deny_unlimited") or res["flood"].get("deny")
    if d and d["rounds"]:
        eps = d["events_per_s"] or 0
        which = "record rate limit off" if res["flood"].get("deny_unlimited") else "default record rate limit"
        t.append({"name": f"events through the ring buffer ({which}; TCG)", "target": ">= 100,000/s, zero loss",
                  "measured": f"{eps:,.0f}/s delivered of {d['events_offered_per_s'] or 0:,.0f}/s offered; "
                              f"{d['event_loss']:,} lost ({d['dropped']:,} dropped by a full ring)",
                  "pass": eps >= 100000 and d["event_loss"] == 0})
    e1 = res["flood"].get("deny_unlimited_1cpu")
    if e1 and e1["rounds"]:
        offered, eps, us = e1["events_offered_per_s"] or 0, e1["events_per_s"] or 0, e1["reader_cpu_per_event_us"]
        t.append({"name": "events on one vCPU, record rate limit off (TCG): delivered vs offered, reader CPU",
                  "target": "delivered == offered, none lost; reader <= 10 us/event",
                  "measured": f"{eps:,.0f}/s delivered of {offered:,.0f}/s offered; {e1['event_loss']:,} lost "
                              f"({e1['dropped']:,} dropped by a full ring); reader {us or 0:.1f} us/event",
                  "pass": e1["event_loss"] == 0 and us is not None and us <= 10})
    for mode, f in res["flood"].items():
        if f["rounds"]:
            t.append({"name": f"per-rule counters under a flood ({mode})", "target": "hits == syscalls",
                      "measured": f"{f['rule_hits']:,} hits for {f['syscalls']:,} syscalls "
                                  f"({f['counter_loss']} missing, {f['counter_excess']} extra)",
                      "pass": f["counter_loss"] == 0 and f["counter_excess"] == 0})
    return t


# ---- text and Markdown ----------------------------------------------------------------------------
def _status(p):
    return "n/a" if p is None else ("PASS" if p else "MISS")


FLOOR_LABELS = {"empty": "empty BPF LSM program", "dpath": "BPF LSM program calling bpf_d_path only",
                "top": "BPF LSM program reading the path's first component only"}


def config_label(cid):
    """What a configuration with no generated policy is, in words."""
    if cid in FLOOR_LABELS:
        return FLOOR_LABELS[cid]
    more = count_id(cid, "others")
    if more is not None:
        return f"the shipped policies and {more} more that name other hooks"
    shipped = count_id(cid, "shipped")
    if shipped is not None:
        return f"the {shipped} shipped policies together"
    if cid.startswith("shipped_"):
        return f"shipped policy {cid.split('_', 1)[1]} alone"
    return cid


def cost_rows(res, op):
    c = res["cost"].get(op, {})
    rows = []
    for cid, e in c.get("configs", {}).items():
        label = config_label(cid) if e["kind"] is None else f"{e['setup']} {e['kind']} {e['rules']}"
        if e["kind"] == "uid":
            label += " (reads no path: dispatch + decision framework)"
        spread = ""
        if "ratio_min" in e:
            spread = f"{(e['ratio_min'] - 1) * 100:+.1f}..{(e['ratio_max'] - 1) * 100:+.1f}%"
        load = f"{e['load_wall_ms']:.0f}" if e.get("load_wall_ms") else (
            f"{e['landlock_setup_ms']:.1f}" if e.get("landlock_setup_ms") else "")
        note = "; ".join(e.get("errors", []))
        if e.get("counted") is False:
            note = (note + "; " if note else "") + "default counter missed calls"
        rows.append([label, f"{e['ns'] / 1000:.2f}" if e["ns"] else "-", fmt_pct(e["added_pct"]),
                     f"{e['added_ns'] / 1000:+.2f}" if e.get("added_ns") is not None else "-", spread, load, note])
    for u in c.get("unsupported", []):
        rows.append([f"bulwark {u['kind']} {u['rules']}", "-", "not yet supported", "", "", "", u["error"][:90]])
    return rows


def table(headers, rows, md):
    if md:
        out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
        out += ["| " + " | ".join(str(x).replace("|", "\\|") for x in r) + " |" for r in rows]
        return "\n".join(out)
    widths = [max(len(str(x)) for x in [h] + [r[i] for r in rows]) for i, h in enumerate(headers)]
    fmt = lambda r: "  ".join(str(x).ljust(w) for x, w in zip(r, widths)).rstrip()  # noqa: E731
    return "\n".join([fmt(headers), fmt(["-" * w for w in widths])] + [fmt(r) for r in rows])


def render(res, md):
    m = res["meta"]
    h = "### " if md else "== "
    out = []
    g = m.get("guest", {})
    out.append(f"{h}Run" if md else "== Run")
    guest_s = ", ".join(f"{k} guest {v:.0f} s" for k, v in m["runtime_s"]["guest"].items())
    out.append(f"{m['date']}, profile {m['profile']}, {m['rounds']} rounds, git {m['host']['git']}; "
               f"host {m['host']['cpu']} ({m['host']['cpus']} CPUs, {m['host']['memory']}, "
               f"Linux {m['host']['kernel']}, load average {m['host']['load_average']:.1f}); "
               f"guest {g.get('kernel', '?')} under {m['host']['qemu']} (TCG, {m['memory']}; cost: 1 vCPU, "
               f"clock {m['cost_clock']}; swap/flood: {m['smp']} vCPUs, real time); "
               f"runtime: compile {m['runtime_s']['compile']:.0f} s, {guest_s}, "
               f"total {m['runtime_s'].get('total', 0):.0f} s.")
    out.append("")
    out.append(f"{h}Targets")
    out.append(table(["target", "goal", "measured", "status"],
                     [[t["name"], t["target"], t["measured"], _status(t["pass"])] for t in res["targets"]], md))
    out.append("")
    names = {"open": "open+close", "exec": "fork+execve+wait", "unlink": "creat+close+unlink",
             "connect": "socket+connect(closed port)+close", "mmap": "open+mmap(PROT_EXEC)+munmap+close",
             "files": "64 files created, read back, removed"}
    for op in ("open", "exec", "unlink", "connect", "mmap", "files"):
        c = res["cost"].get(op)
        if not c:
            continue
        noise = f"; the baseline varied {c['noise_pct']:.1f}% over the run" if c.get("noise_pct") is not None else ""
        if c.get("resolution_pct") is not None:
            noise += f"; per-round ratios of a configuration agree within {c['resolution_pct']:.1f} points (median)"
        out.append(f"{h}Syscall cost: {names[op]}")
        unit = "k instructions" if m["cost_clock"] == "icount" else "us (TCG wall clock)"
        out.append(f"No program: {c['none_ns'] / 1000:.2f} {unit} per operation{noise}." if c.get("none_ns")
                   else "Not measured.")
        out.append("")
        out.append(table(["configuration", "k instr/op" if m["cost_clock"] == "icount" else "us/op (TCG)",
                          "added vs none", "added k instr" if m["cost_clock"] == "icount" else "added us",
                          "per-round range",
                          "load ms (virtual)" if m["cost_clock"] == "icount" else "load ms", "note"],
                         cost_rows(res, op), md))
        sc = [(k, v["scaling"]) for k, v in c.get("kinds", {}).items() if "scaling" in v]
        if sc:
            out.append("")
            out.append("Largest vs 1-rule policy (per-round ratio): " + ", ".join(
                f"{k} {s['to']}/{s['from']}: {s['ratio']:.3f}x" for k, s in sc if s["ratio"]))
        out.append("")
    out.append(f"{h}Compile time and bundle size (host, `bulwarkc compile`)")
    rows = []
    for c in sorted(res["compile"], key=lambda c: (c["hook"], KIND_ORDER.index(c["kind"]), c["rules"])):
        rows.append([c["hook"], c["kind"], c["rules"], f"{c['compile_s']:.3f}", f"{c['compile_wall_s']:.3f}",
                     f"{c['bundle_bytes'] / 1024:.0f}" if "bundle_bytes" in c else "-",
                     f"{c['object_bytes'] / 1024:.0f}" if "object_bytes" in c else "-",
                     "not yet supported: " + c["error"][:80] if "error" in c else ""])
    out.append(table(["hook", "kind", "rules", "compile CPU s", "wall s", "bundle KiB", "object KiB", "note"],
                     rows, md))
    out.append("")
    rows = []
    for op in ("open", "connect"):
        for cid, e in res["cost"].get(op, {}).get("configs", {}).items():
            if e["setup"] == "bulwark" and e.get("load_wall_ms"):
                rows.append([OPS_HOOK[op], e["kind"], e["rules"], f"{e['load_wall_ms']:.0f}",
                             f"{e['load_total_ms']:.0f}" if e.get("load_total_ms") else "-",
                             f"{e['load_verify_ms']:.0f}" if e.get("load_verify_ms") else "-"])
    if rows:
        clock = "icount virtual ms: 1 ns per guest instruction" if m["cost_clock"] == "icount" else "TCG wall ms"
        out.append(f"{h}Load time (guest, `bulwark load` of a fresh policy; {clock})")
        out.append(table(["hook", "kind", "rules", "bulwark process", "lock to unlock (bulwark's 'total')",
                          "open+verify+load+fill maps"], rows, md))
        out.append("")
    if res["swap"]:
        out.append(f"{h}Hot swap (TCG)")
        f1 = lambda v, f="{:.1f}": "-" if v is None else f.format(v)  # noqa: E731
        commands = {"load": "`load`", "switch": "`load --stage` + `switch`",
                    "signal": "daemon (`switch: on_signal`) staged, SIGUSR1"}
        rows = [[s["rules"], commands[s.get("via", "switch" if s.get("staged") else "load")], s["rounds"],
                 f1(s["latency_ms"]),
                 f"{s['latency_min_ms']:.1f}..{s['latency_max_ms']:.1f}" if s["latency_min_ms"] is not None else "",
                 f1(s["until_switch_ms"]), f1(s.get("checks_ms"), "{:.2f}"), f1(s["load_verify_ms"]),
                 f1(s["switch_us"], "{:.0f}"),
                 f1(s["switch_to_decision_us"], "{:.0f}") + (f" (max {s['switch_to_decision_max_us']:.0f})"
                                                            if s["switch_to_decision_max_us"] else ""),
                 f1(s.get("next_denied_max_us"), "{:.0f}"), f1(s.get("next_denied_last_us"), "{:.0f}"),
                 f1(s["bulwark_exit_ms"]), f1(s["resolution_us"], "{:.0f}"),
                 "; ".join(s["errors"])] for s in res["swap"]]
        out.append(table(["rules", "commands", "rounds", "issue -> first v2 decision, ms", "range", "issue -> bw_gen switch, ms",
                          "checks before the switch, ms", "load+verify ms", "switch write us",
                          "switch -> first v2 decision, us", "the next 5 v2 decisions, max us",
                          "the last of them, us",
                          "bulwark exits, ms", "hammer resolution us", "note"], rows, md))
        out.append("")
    if res["flood"]:
        out.append(f"{h}Decision and event throughput (TCG)")
        rows = []
        names = {"allow": "allow rule (no records)", "deny": "deny rule, default record rate limit",
                 "deny_unlimited": "deny rule, record rate limit off",
                 "deny_unlimited_1cpu": "deny rule, record rate limit off, one vCPU (flood and reader)"}
        for mode, f in res["flood"].items():
            ev = mode.startswith("deny")
            rows.append([names.get(mode, mode), f["rounds"], f"{f['syscalls_per_s'] or 0:,.0f}",
                         f"{f['decisions_per_s'] or 0:,.0f}", f"{f['syscalls']:,}", f"{f['rule_hits']:,}",
                         f"{f['emitted']:,}" if ev else "-", f"{f['limited']:,}" if ev else "-",
                         f"{f['dropped']:,}" if ev else "-", f"{f['delivered']:,}" if ev else "-",
                         f"{f['events_per_s'] or 0:,.0f}" if ev else "-",
                         f"{f['reader_cpu_pct'] or 0:.0f}%",
                         f"{f['reader_cpu_per_event_us']:.1f}" if ev and f["reader_cpu_per_event_us"] else "-",
                         "; ".join(f["errors"])])
        out.append(table(["flood", "rounds", "syscalls/s", "decisions/s", "syscalls", "rule hits", "records sent",
                          "rate-limited", "dropped (ring full)", "delivered", "delivered/s", "reader CPU",
                          "reader CPU us/event", "note"], rows, md))
        out.append("")
    return "\n".join(out)


def text(res):
    return render(res, False)


def markdown(res):
    return render(res, True) + "\n"


# ---- SVG chart --------------------------------------------------------------------------------------
def _esc(s):
    return str(s).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _panel(x0, y0, w, h, title, series, ylabel, ylog=False, hlines=(), xmax=10000):
    """One chart: x = rules (log10, 1..xmax); series = [(label, color, dash, [(x, y)])]."""
    o = [f'<g transform="translate({x0},{y0})">',
         f'<text x="{w / 2}" y="-8" text-anchor="middle" font-size="13" font-weight="bold">{_esc(title)}</text>']
    ys = [p[1] for s in series for p in s[3] if p[1] is not None] + [v for v, _, _ in hlines]
    # headroom above the data for the legend (top left)
    nleg = sum(1 for s in series if any(y is not None for _, y in s[3]))
    room = min(0.75, 0.075 * nleg + 0.04)
    if ylog:
        ys = [y for y in ys if y > 0]
        lo = 10 ** math.floor(math.log10(min(ys))) if ys else 0.01
        top = math.log10(max(ys)) if ys else 1
        top += (top - math.log10(lo)) * room / (1 - room)
        hi = max(10 ** math.ceil(top), lo * 10)  # one decade at least (a single value)
        ty = lambda v: h - (math.log10(max(v, lo)) - math.log10(lo)) / (math.log10(hi) - math.log10(lo)) * h  # noqa
        ticks = [10 ** e for e in range(int(math.log10(lo)), int(math.log10(hi)) + 1)]
    else:
        lo = min([0.0] + ys)
        hi = max([1.0] + ys)
        hi += (hi - lo) * room / (1 - room)
        span = hi - lo
        step = 10 ** math.floor(math.log10(span)) if span > 0 else 1
        if span / step < 4:
            step /= 2
        lo = math.floor(lo / step) * step
        hi = math.ceil(hi / step) * step
        ty = lambda v: h - (v - lo) / (hi - lo) * h  # noqa: E731
        ticks = [lo + i * step for i in range(int(round((hi - lo) / step)) + 1)]
    tx = lambda n: (math.log10(n) / math.log10(xmax)) * w  # noqa: E731
    o.append(f'<rect x="0" y="0" width="{w}" height="{h}" fill="white" stroke="#999"/>')
    for t in ticks:
        y = ty(t)
        lab = f"{int(round(t)):,}" if abs(t) >= 1000 and float(t).is_integer() else f"{t:g}"
        o.append(f'<line x1="0" x2="{w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eee"/>')
        o.append(f'<text x="-4" y="{y + 4:.1f}" text-anchor="end" font-size="10">{lab}</text>')
    n = 1
    while n <= xmax:
        x = tx(n)
        o.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="0" y2="{h}" stroke="#eee"/>')
        o.append(f'<text x="{x:.1f}" y="{h + 13}" text-anchor="middle" font-size="10">{n:,}</text>')
        n *= 10
    o.append(f'<text x="{w / 2}" y="{h + 27}" text-anchor="middle" font-size="10">rules</text>')
    yl = -48 if ylog else -34
    o.append(f'<text x="{yl}" y="{h / 2}" text-anchor="middle" font-size="10" '
             f'transform="rotate(-90 {yl} {h / 2})">{_esc(ylabel)}</text>')
    for v, color, label in hlines:
        y = ty(v)
        o.append(f'<line x1="0" x2="{w}" y1="{y:.1f}" y2="{y:.1f}" stroke="{color}" stroke-dasharray="2,3"/>')
        o.append(f'<text x="{w - 3}" y="{y - 3:.1f}" text-anchor="end" font-size="9" fill="{color}">'
                 f'{_esc(label)}</text>')
    lines = []
    shown = [s for s in series if any(y is not None and (not ylog or y > 0) for _, y in s[3])]
    if shown:
        lw = 14 + 6.2 * max(len(s[0]) for s in shown)
        o.append(f'<rect x="4" y="2" width="{lw:.0f}" height="{13 * len(shown) + 4}" fill="white" '
                 f'fill-opacity="0.85" stroke="#ddd"/>')
    ly = 12
    for label, color, dash, pts in series:
        pts = [(x, y) for x, y in pts if y is not None and (not ylog or y > 0)]
        if not pts:
            continue
        d = " ".join(f"{tx(x):.1f},{ty(y):.1f}" for x, y in pts)
        da = ' stroke-dasharray="6,3"' if dash else ""
        lines.append(f'<polyline points="{d}" fill="none" stroke="{color}" stroke-width="1.8"{da}/>')
        for x, y in pts:
            lines.append(f'<circle cx="{tx(x):.1f}" cy="{ty(y):.1f}" r="2.5" fill="{color}"/>')
        o.append(f'<line x1="8" x2="26" y1="{ly - 4}" y2="{ly - 4}" stroke="{color}" stroke-width="2"{da}/>')
        o.append(f'<text x="30" y="{ly}" font-size="10">{_esc(label)}</text>')
        ly += 13
    # data under the legend box: insert the lines before it
    k = next((i for i, x in enumerate(o) if x.startswith('<rect x="4" y="2"')), len(o))
    o[k:k] = lines
    o.append("</g>")
    return o


def _pts(d):
    """{rules: value} (keys may be strings after a JSON round trip) -> sorted [(rules, value)]."""
    return sorted((int(k), v) for k, v in d.items())


def svg(res):
    W, H = 1000, 900
    pw, ph = 400, 210
    o = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif">',
         f'<rect width="{W}" height="{H}" fill="white"/>']
    m = res["meta"]
    o.append(f'<text x="{W / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">'
             f'Bulwark benchmarks ({_esc(m["date"][:10])}, git {_esc(m["host"]["git"])}, '
             f'guest {_esc(m.get("guest", {}).get("kernel", "?").split(" ")[0])} under QEMU TCG)</text>')
    o.append(f'<text x="{W / 2}" y="40" text-anchor="middle" font-size="11">Added syscall cost over no program '
             f'(median of per-round ratios, {m["rounds"]} rounds); compile time on the host; load time in the guest</text>')
    names = {"open": "open+close", "exec": "fork+execve+wait", "unlink": "creat+close+unlink",
             "connect": "socket+connect+close"}
    pos = [(70, 80), (570, 80), (70, 350), (570, 350), (70, 620), (570, 620)]
    for i, op in enumerate(["open", "exec", "unlink", "connect"]):
        c = res["cost"].get(op, {})
        series = []
        for kind in CHART_KINDS:
            k = c.get("kinds", {}).get(kind)
            if k:
                series.append((f"Bulwark {kind}", COLORS[kind], False, _pts(k["added_pct"])))
        for kind, k in c.get("landlock", {}).items():
            series.append((f"Landlock {kind}", COLORS["landlock_" + kind], True, _pts(k["added_pct"])))
        hl = []
        if c.get("empty_added_pct") is not None:
            hl.append((c["empty_added_pct"], "#555", "empty BPF LSM program"))
        dp = c.get("configs", {}).get("dpath", {}).get("added_pct")
        if dp is not None:
            hl.append((dp, "#555", "program calling bpf_d_path only"))
        if op == "open":
            hl.append((10.0, "#d00", "target +10%"))
        o += _panel(*pos[i], pw, ph, f"{names[op]}: added cost (%)", series, "% over no program", hlines=hl)
    # compile time
    series = []
    for hook in sorted({c["hook"] for c in res["compile"]}):
        for kind in CHART_KINDS:
            pts = sorted((c["rules"], c["compile_s"]) for c in res["compile"]
                         if c["hook"] == hook and c["kind"] == kind and "error" not in c and not c.get("breakdown"))
            if pts and (hook in ("file.open", "net.connect")):
                series.append((f"{hook} {kind}", COLORS[kind], hook != "file.open", pts))
    o += _panel(*pos[4], pw, ph, "compile time (host, CPU s)", series, "seconds", ylog=True,
                hlines=[(1.0, "#d00", "target 1 s")])
    # load time (cost guest's clock)
    series = []
    c = res["cost"].get("open", {})
    for kind in CHART_KINDS:
        pts = sorted((e["rules"], e["load_wall_ms"]) for e in c.get("configs", {}).values()
                     if e["setup"] == "bulwark" and e["kind"] == kind and e.get("load_wall_ms"))
        if pts:
            series.append((f"bulwark load, file.open {kind}", COLORS[kind], False, pts))
    pts = sorted((e["rules"], e["load_verify_ms"]) for e in c.get("configs", {}).values()
                 if e["setup"] == "bulwark" and e["kind"] == "exact" and e.get("load_verify_ms"))
    if pts:
        series.append(("of which open+verify+load+fill (exact)", COLORS["exact"], True, pts))
    clock = "icount virtual ms" if m.get("cost_clock") == "icount" else "TCG ms"
    o += _panel(*pos[5], pw, ph, f"bulwark load time (guest, {clock})", series, "milliseconds", ylog=True)
    o.append("</svg>")
    return "\n".join(o) + "\n"


# ---- smoke --------------------------------------------------------------------------------------------
def smoke_problems(res, only, prof):
    p = []
    m = res["meta"]
    for run, rc in m.get("guest_exit", {}).items():
        if rc != 0:
            p.append(f"guest run {run}: run-vm exited {rc}")
        if not m["guest_finished"].get(run):
            p.append(f"guest run {run}: the guest benchmark did not finish (no 'done' record)")
    if m.get("guest_exit") and not m.get("guest"):
        p.append("no environment record from the guest")
    if "cost" in only:
        for op, c in res["cost"].items():
            if not c.get("none_ns"):
                p.append(f"{op}: no 'none' measurement")
            for cid, e in c.get("configs", {}).items():
                if e.get("errors"):
                    p.append(f"{op} {cid}: {'; '.join(e['errors'])}")
                if e.get("counted") is False:
                    p.append(f"{op} {cid}: the policy's default counter missed measured calls")
            if any(count_id(cid, "others") is not None for cid in c.get("configs", {})) and not c.get("others"):
                p.append(f"{op}: the policies naming other hooks were measured, the shipped ones alone not")
    if "swap" in only:
        for s in res["swap"]:
            if s["errors"] or s["latency_ms"] is None:
                p.append(f"swap {s['rules']} {s.get('via', 'load')}: {s['errors'] or 'no latency'}")
    if "flood" in only:
        for mode in ("allow", "deny", "deny_unlimited"):
            f = res["flood"].get(mode)
            if not f or not f["rounds"]:
                p.append(f"flood {mode}: no result")
            elif f["errors"]:
                p.append(f"flood {mode}: {f['errors']}")
    if "events" in only:
        f = res["flood"].get("deny_unlimited_1cpu")
        if not f or not f["rounds"]:
            p.append("events: no result")
        elif f["errors"]:
            p.append(f"events: {f['errors']}")
    return p
