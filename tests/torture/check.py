#!/usr/bin/env python3
"""After a torture run (run.sh), once quiet: the spool, its history and what
every agent and command logged, compared.

    check.py SPOOL LOGS     prints the figures as JSON; comments on stderr

Every move the agents made was legal, so: every task exists exactly once;
none is lost or quarantined; nothing is reverted or restored; the history of
each task is one unbroken chain of transitions, each recorded once with its
actor (or marked unattributed, never given to another agent); no commit
adds or drops a task; no claim is taken from the agent holding it (the work
would be done twice); HEAD's tree equals the files; git fsck is clean; the
next command works.
"""
import collections
import datetime
import glob
import json
import os
import subprocess
import sys

STATE_DIRS = ("new", "blocked", "ready", "claimed", "review", "done",
              "failed", "cancelled", "quarantine")


def git(spool, *args, check=True):
    p = subprocess.run(("git", "-C", spool) + args, capture_output=True,
                       text=True)
    if check and p.returncode:
        sys.exit("git %s: %s" % (" ".join(args), p.stderr))
    return p


def words(path):
    with open(path) as f:
        return f.read().split()


def scan(spool):
    found = []
    for d in STATE_DIRS:
        base = os.path.join(spool, d)
        subs = [d]
        if d == "claimed":
            subs = ["claimed/" + a for a in sorted(os.listdir(base))
                    if os.path.isdir(os.path.join(base, a))]
        for s in subs:
            for n in sorted(os.listdir(os.path.join(spool, s))):
                if not n.startswith("."):
                    found.append(s + "/" + n)
    return found


def records(spool, base):
    out = git(spool, "log", "--first-parent", "--reverse",
              "--format=%x1e%H%n%(trailers:only,unfold)",
              base + "..HEAD").stdout
    recs = []
    for chunk in out.split("\x1e")[1:]:
        lines = chunk.splitlines()
        commit = lines[0]
        for line in lines[1:]:
            key, sep, val = line.partition(": ")
            if not sep or not key.startswith("Spool-"):
                continue
            field = key[len("Spool-"):].lower()
            if field == "task":
                recs.append({"task": val, "commit": commit})
            elif recs and recs[-1]["commit"] == commit:
                recs[-1][field] = val
    for r in recs:
        for f in ("from", "to", "agent", "verb"):
            r.setdefault(f, "")
    return recs


def unbalanced_commits(spool, base):
    """Commits that add or drop a task file: while tasks only move, every
    commit deletes exactly as many task files as it adds."""
    out = git(spool, "log", "--first-parent", "--raw", "--no-renames",
              "--format=%x1e%H", base + "..HEAD").stdout
    bad = []
    for chunk in out.split("\x1e")[1:]:
        lines = chunk.splitlines()
        added = deleted = 0
        for line in lines[1:]:
            if not line.startswith(":"):
                continue
            meta, path = line.split("\t", 1)
            status = meta.split()[-1]
            if path.split("/", 1)[0] not in STATE_DIRS or \
                    not path.endswith(".json"):
                continue
            if status == "A":
                added += 1
            elif status == "D":
                deleted += 1
        if added != deleted:
            bad.append("%s adds %d, deletes %d" % (lines[0][:10], added,
                                                   deleted))
    return bad


def log_time(stamp):
    return datetime.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()


def spoold_log(spool):
    """spoold's log: when each spoold started, and when each batch read
    the events it went on to finish (see recorded_until); the times of the
    inotify queue overflows it logged."""
    starts, done, overflows = [], collections.defaultdict(list), []
    reading = {}
    try:
        f = open(os.path.join(spool, ".spool", "run", "spoold.log"),
                 errors="replace")
    except FileNotFoundError:
        return starts, done, overflows
    with f:
        for line in f:
            parts = line.split(None, 3)
            if len(parts) < 4 or not parts[1].startswith("spoold["):
                continue
            t, pid, msg = log_time(parts[0]), parts[1], parts[3]
            if msg.startswith("spoold ") and " starting in " in msg:
                starts.append((t, pid))
            elif msg.startswith("batch: events read"):
                reading[pid] = t
            elif msg.startswith("batch: reconcile") and pid in reading:
                done[pid].append(reading.pop(pid))
            elif "queue overflowed" in msg:
                overflows.append(t)
    return starts, done, overflows


def recorded_until(starts, done, t):
    """Up to when the spoold running at t recorded what it saw. A batch
    reads the events queued, records them and commits: the moves made
    after the last batch that got that far were seen by no spoold that
    lived to record them, however long before the kill they came. One
    killed inside a batch may or may not have committed it: the batch is
    not counted. A spoold that finished none recorded nothing after its
    start (where the start's own window ends)."""
    if not done:
        return t    # spoold not run at debug level: the kill, as before
    pid, since = None, t
    for st, p in starts:
        if st <= t:
            pid, since = p, st
    if pid is None:
        return t
    reads = [r for r in done.get(pid, ()) if since <= r <= t]
    return max(reads) if reads else since


def blind_windows(spool, logs):
    """The times no spoold was watching, or watched but died before it
    recorded what it saw: from the killed spoold's last finished batch to
    the next one's start (spoold.windows: "down" before each kill, "up"
    once the next is ready), and the seconds before each inotify queue
    overflow it logged."""
    starts, done, overflows = spoold_log(spool)
    wins, down = [], None
    try:
        with open(os.path.join(logs, "spoold.windows")) as f:
            for line in f:
                t, what = line.split()
                if what == "down":
                    down = float(t)
                elif down is not None:
                    wins.append((recorded_until(starts, done, down),
                                 float(t)))
                    down = None
    except FileNotFoundError:
        pass
    for t in overflows:
        wins.append((t - 10, t))
    return wins, len(overflows)


class Event:
    """One move an agent or a command made, as its log says."""

    def __init__(self, t, after, task, verb, agent, outcome):
        self.t, self.after = t, after   # logged at t; made after `after`
        self.task, self.verb, self.agent = task, verb, agent
        self.outcome = outcome          # ok, killed (maybe made), no
        self.blind = False


def read_logs(logs):
    """Every move and command from the logs; the claims taken from their
    agents; the commands killed, per verb; every command run, as (agent,
    time its agent logged before, time it ended)."""
    events, lost, runs = [], [], []
    kills = collections.Counter()
    for path in sorted(glob.glob(os.path.join(logs, "*.log"))):
        name = os.path.basename(path)[:-len(".log")]
        if name in ("spoold-start", "op"):
            continue
        prev = 0.0
        with open(path) as f:
            for line in f:
                parts = line.split()
                t = float(parts[0])
                if name.endswith(".mv"):       # "TIME VERB ID"
                    agent, verb, task = name[:-3], parts[1], parts[2]
                    if verb == "lost":
                        lost.append((task, agent))
                    elif verb != "touch":
                        events.append(Event(t, prev, task, verb, agent, "ok"))
                else:                          # "TIME VERB:ID EXIT OUTPUT"
                    verb, _, task = parts[1].partition(":")
                    rc = int(parts[2])
                    if rc == 137:
                        kills[verb] += 1
                    if verb == "claim" and rc == 0 and len(parts) > 3:
                        task = os.path.basename(parts[3])[:-len(".json")]
                    if task and rc in (0, 137):
                        events.append(Event(t, prev, task, verb, name,
                                            "ok" if rc == 0 else "killed"))
                    elif verb == "claim" and rc == 137:
                        # It may have taken a task; which, nobody knows.
                        events.append(Event(t, prev, None, verb, name,
                                            "killed"))
                    runs.append((name, prev, t))
                prev = t
    for path in glob.glob(os.path.join(logs, "op.log")):
        with open(path) as f:
            kills["reconcile"] += sum(1 for line in f
                                      if line.split()[2] == "137")
    return events, lost, kills, runs


def mark_blind(events, wins):
    """A move spoold may never have seen: spoold was down at some time
    between the move and the task's next move (by anyone), so that state
    of the task may have come and gone unseen. Such a move may be missing
    from the history, or recorded without its agent; never given to
    another."""
    by_task = collections.defaultdict(list)
    for e in events:
        by_task[e.task].append(e)
    for task, evs in by_task.items():
        evs.sort(key=lambda e: e.t)
        for i, e in enumerate(evs):
            until = evs[i + 1].t if i + 1 < len(evs) and task else e.t
            e.blind = task is None or any(
                d <= until and e.after <= u for d, u in wins)


def commands_begun_blind(wins, events, runs, logs):
    """A command begun while no spoold ran works as if none ran to the
    end: it records agents' moves from its own look at the files, and its
    own move, under the lock, while the next spoold waits for it. Moves
    its commits went past can then no longer be recorded in their place
    from spoold's events (a claim and release just before its claim of
    the task). Each window lasts until the commands that may have begun
    in it have exited: spool reconcile, started before spoold in each
    window, and any command whose run may have begun in one (its start is
    known only to follow the line its agent logged before)."""
    moved = collections.defaultdict(list)      # agent: times it moved
    for e in events:
        moved[e.agent].append(e.t)
    ends = []                                   # (begun after, exit)
    for agent, after, t in runs:
        ends.append((max([after] + [m for m in moved[agent] if m < t]), t))
    try:
        with open(os.path.join(logs, "op.log")) as f:
            for line in f:
                ends.append((None, float(line.split()[0])))
    except FileNotFoundError:
        pass
    out = []
    for s, u in wins:
        end = u
        for start, t in ends:
            if start is None:           # begun in the window its exit is in
                begun = s <= t and not any(s2 > s and s2 <= t
                                           for s2, _ in wins)
            else:
                begun = start <= u and t > s
            if begun and t > end:
                end = t
        out.append((s, end))
    return out


def actor_of(r):
    """The agent a move is by, from the directory it entered or left."""
    for loc in (r["to"], r["from"]):
        if loc.startswith("claimed/"):
            return loc.split("/", 1)[1]
    return None


def holder_submits(excess, unseen, flagged, problems):
    """Submits recorded as by the agent HEAD had the task with, from a
    look at the files, while that agent had released it and another
    claimed and submitted it, none of it seen (claimed/A in HEAD, review/
    on disk: recorded as A's submit). Which agent submitted cannot be
    known from the files; it should be recorded as unknown, not as A's.
    Counted apart from the other moves recorded but not made, each
    matched with A's unseen release and the other agent's unseen submit,
    which it stands for. Returns how many, and how many of them do not
    say in their note that the submit was not seen."""
    given = silent = 0
    for k in sorted(excess):
        task, verb, a = k
        if verb != "submit":
            continue
        while excess[k] and unseen[(task, "release", a)]:
            other = next((o for o in sorted(unseen) if o[:2] == k[:2] and
                          o[2] != a and unseen[o]), None)
            if other is None:
                break
            excess[k] -= 1
            unseen[(task, "release", a)] -= 1
            unseen[other] -= 1
            given += 1
            if flagged[k]:
                flagged[k] -= 1
                continue
            silent += 1
            problems.append("submit %s by %s recorded from the files; "
                            "%s released it, %s submitted it, unseen; "
                            "its note does not say so" % (
                                task, a, a, other[2]))
    return given, silent


def main():
    spool, logs = sys.argv[1], sys.argv[2]
    base = words(os.path.join(logs, "base"))[0]
    mv_agents = words(os.path.join(logs, "mv-agents"))
    cmd_agents = words(os.path.join(logs, "cmd-agents"))
    reviewers = words(os.path.join(logs, "reviewers"))
    registered = set(mv_agents + cmd_agents + reviewers)
    fig = collections.OrderedDict()
    problems = []

    # ---- the files, and HEAD ------------------------------------------
    disk = scan(spool)
    tasks = sorted(p for p in git(spool, "ls-tree", "-r", "--name-only",
                                  base, "--", "ready").stdout.split()
                   if p.endswith(".json"))
    ids = [os.path.basename(p)[:-5] for p in tasks]
    where = collections.defaultdict(list)
    stray = []
    for p in disk:
        name = os.path.basename(p)
        if p.startswith(("quarantine/", "new/")) or not name.endswith(".json"):
            stray.append(p)
        else:
            where[name[:-5]].append(p)
    fig["tasks"] = len(ids)
    fig["lost"] = sum(1 for i in ids if not where.get(i))
    fig["doubled_files"] = sum(1 for i in ids if len(where.get(i, [])) > 1)
    quarantine = [p for p in stray if p.startswith("quarantine/")]
    fig["quarantined"] = sum(1 for p in quarantine if p.endswith(".json"))
    fig["stray_files"] = len(stray) - len(quarantine)
    fig["unknown_tasks"] = len(set(where) - set(ids))
    head = sorted(p for p in git(spool, "ls-tree", "-r", "--name-only",
                                 "HEAD", "--", *STATE_DIRS).stdout.split()
                  if not os.path.basename(p).startswith("."))
    fig["head_differs"] = len(set(head) ^ set(disk))
    if fig["head_differs"]:
        problems.append("HEAD only: %s; files only: %s" % (
            sorted(set(head) - set(disk))[:5],
            sorted(set(disk) - set(head))[:5]))
    for i in ids:
        if len(where.get(i, [])) != 1:
            problems.append("%s is at %s" % (i, where.get(i) or "nowhere"))
    status = git(spool, "status", "--porcelain", "--untracked-files=all",
                 "--", *STATE_DIRS).stdout.splitlines()
    fig["git_status_lines"] = len(status)

    # ---- the history ---------------------------------------------------
    recs = records(spool, base)
    fig["records"] = len(recs)
    fig["commits"] = int(git(spool, "rev-list", "--count", "--first-parent",
                             base + "..HEAD").stdout)
    verbs = collections.Counter(r["verb"] for r in recs)
    fig["verbs"] = dict(sorted(verbs.items()))
    fig["reverted"] = verbs.get("revert", 0)
    fig["restored"] = verbs.get("restore", 0)
    fig["quarantine_records"] = verbs.get("quarantine", 0)
    for r in recs:
        if r["verb"] in ("revert", "restore", "quarantine"):
            problems.append("%s %s %s -> %s by %s [%s]" % (
                r["verb"], r["task"], r["from"], r["to"], r["agent"],
                r["commit"][:10]))

    # Each task's records, in order, form one chain from ready/ to where
    # the file is.
    state = {i: "ready" for i in ids}
    breaks = 0
    for r in recs:
        cur = state.get(r["task"])
        if cur is None or r["from"] != cur:
            breaks += 1
            if breaks <= 10:
                problems.append("chain of %s: recorded %s -> %s (%s) while "
                                "it was in %s [%s]" % (
                                    r["task"], r["from"], r["to"], r["verb"],
                                    cur, r["commit"][:10]))
        state[r["task"]] = r["to"]
    fig["chain_breaks"] = breaks
    ends = sum(1 for i in ids if where.get(i) and
               os.path.dirname(where[i][0]) != state[i])
    fig["chain_ends_elsewhere"] = ends
    bad = unbalanced_commits(spool, base)
    fig["commits_adding_or_dropping_tasks"] = len(bad)
    problems += bad[:5]

    # ---- what the agents did, against what was recorded ---------------
    wins, overflows = blind_windows(spool, logs)
    fig["inotify_overflows"] = overflows
    events, lost, kills, runs = read_logs(logs)
    wins = commands_begun_blind(wins, events, runs, logs)
    mark_blind(events, wins)
    fig["commands_killed"] = dict(sorted(kills.items()))
    fig["claims_taken_from_their_agent"] = len(lost)
    fig["doubled"] = len({t for t, _ in lost})
    for t, a in lost[:10]:
        problems.append("%s was taken from %s while it held it" % (t, a))

    # Recorded moves per (task, verb, agent), the agent from the claimed/
    # directory for an agent's own moves; unattributed ones apart.
    rec, unattributed = collections.Counter(), collections.Counter()
    flagged = collections.Counter()     # a submit whose note says unseen
    misattributed = []
    for r in recs:
        if r["verb"] in ("claim", "submit", "release"):
            a = actor_of(r)
            if r["agent"] not in registered or a not in registered:
                unattributed[(r["task"], r["verb"])] += 1
                continue
            rec[(r["task"], r["verb"], a)] += 1
            if r.get("note", "").startswith("submit not seen"):
                flagged[(r["task"], r["verb"], a)] += 1
            if r["agent"] != a:
                misattributed.append(r)
        elif r["verb"] in ("reject", "approve"):
            rec[(r["task"], r["verb"], r["agent"])] += 1
    fig["misattributed"] = len(misattributed)
    for r in misattributed[:5]:
        problems.append("%s %s %s -> %s recorded as by %s" % (
            r["verb"], r["task"], r["from"], r["to"], r["agent"]))

    # Every move made is recorded once with its agent. A blind one may be
    # missing, or unattributed; a killed command may or may not have
    # acted; a killed spool claim may have taken any task.
    lo, hi = collections.Counter(), collections.Counter()
    spare = collections.Counter()
    for e in events:
        if e.task is None:
            spare[e.agent] += 1
            continue
        k = (e.task, e.verb, e.agent)
        hi[k] += 1
        if e.outcome == "ok" and not e.blind:
            lo[k] += 1
    fig["transitions_made"] = sum(1 for e in events if e.outcome == "ok")
    fig["made_while_spoold_was_blind"] = sum(
        1 for e in events if e.outcome == "ok" and e.blind)
    missing = 0
    excess = collections.Counter()      # recorded more than made
    unseen = collections.Counter()      # made unseen, not recorded
    for k in sorted(set(lo) | set(hi) | set(rec)):
        got = rec.get(k, 0)
        if k[1] == "claim" and got > hi[k] and spare[k[2]]:
            use = min(spare[k[2]], got - hi[k])
            spare[k[2]] -= use
            hi[k] += use
        if got < lo[k]:
            missing += lo[k] - got
            if missing <= 5:
                problems.append("%s %s by %s: made %d, recorded %d" % (
                    k[1], k[0], k[2], lo[k], got))
        excess[k] = max(0, got - hi[k])
        unseen[k] = max(0, hi[k] - max(got, lo[k]))
    given, silent = holder_submits(excess, unseen, flagged, problems)
    phantom = 0
    for k, n in sorted(excess.items()):
        if n:
            phantom += n
            problems.append("%s %s by %s: made %d (%d more unseen or "
                            "killed), recorded %d" % (
                                k[1], k[0], k[2], lo[k], hi[k] - lo[k],
                                rec.get(k, 0)))
    slack = collections.Counter()       # (task, verb): unseen, not recorded
    for k, n in unseen.items():
        slack[k[:2]] += n
    for k, n in sorted(unattributed.items()):
        # a killed spool claim may have taken any task, unseen
        while k[1] == "claim" and n > slack[k] and sum(spare.values()):
            spare[max(spare, key=spare.get)] -= 1
            slack[k] += 1
        if n > slack[k]:
            phantom += n - slack[k]
            problems.append("%s %s: %d recorded without an agent, %d made "
                            "unseen" % (k[1], k[0], n, slack[k]))
    fig["unattributed"] = sum(unattributed.values())
    fig["unrecorded"] = missing
    fig["recorded_but_not_made"] = phantom
    fig["submits_given_to_the_holder"] = given
    fig["submits_given_silently"] = silent

    # ---- the run's own figures ----------------------------------------
    fig["spoold_kills"] = int(words(os.path.join(logs, "kills"))[0])
    fig["spoold_restart_failures"] = int(
        words(os.path.join(logs, "restart-failures"))[0])
    fig["run_seconds"] = round(int(words(os.path.join(logs,
                                                      "run-ms"))[0]) / 1000, 1)
    fig["settle_seconds"] = round(int(words(os.path.join(
        logs, "settle-ms"))[0]) / 1000, 1)
    try:
        with open(os.path.join(logs, "final-reconcile.json")) as f:
            last = json.load(f)
        fig["left_for_the_last_reconcile"] = sum(
            v for v in last.values() if isinstance(v, int))
    except ValueError:
        fig["left_for_the_last_reconcile"] = -1

    # ---- fsck, and the next commands -----------------------------------
    p = git(spool, "fsck", "--full", "--strict", "--no-progress",
            check=False)
    fig["fsck_clean"] = p.returncode == 0 and not p.stderr.strip()
    # The packs of big commits' blobs and the packer's, and what killed
    # writers of them left (removed by the packer once an hour old).
    packdir = os.path.join(spool, ".git", "objects", "pack")
    names = os.listdir(packdir) if os.path.isdir(packdir) else []
    fig["packs"] = sum(n.endswith(".pack") for n in names)
    fig["pack_scratch_files"] = sum(n.startswith("pack_git2_") for n in names)
    if not fig["fsck_clean"]:
        problems.append("git fsck: " + p.stderr.strip()[:300])
    env = dict(os.environ, SPOOL_DIR=spool)
    env.pop("SPOOL_AGENT", None)
    p = subprocess.run(["spool", "ls"], env=env, capture_output=True,
                       text=True)
    fig["next_ls_ok"] = p.returncode == 0 and \
        len(p.stdout.splitlines()) == len(ids)
    p = subprocess.run(["spool", "add", "--title", "after the storm"],
                       env=env, capture_output=True, text=True)
    new = p.stdout.strip()
    fig["next_add_ok"] = p.returncode == 0 and new not in ids and \
        git(spool, "cat-file", "-e", "HEAD:ready/%s.json" % new,
            check=False).returncode == 0

    for line in problems[:40]:
        print("# " + line, file=sys.stderr)
    json.dump(fig, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
