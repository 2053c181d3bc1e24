#!/usr/bin/env python3
"""Drives a real spool and the reference model (model.py) side by side.

    run.py --spool DIR --mode plain|daemon [--steps N] [--seed S]

Each step is one action of an agent, a reviewer or an operator, by raw mv
or by a command, legal or not, picked at random (seeded). The model says
what must follow; after the step the files (where each task is, attempt,
feedback, the fields the spool owns) and the trailers of the new commits
must match it. In plain mode nothing runs in the background: a raw move is
followed by `spool reconcile`, or left for the next command, which
reconciles first. In daemon mode spoold records everything, and each step
waits (bounded) until HEAD's tree equals the files and the records are in.

Stops at the first difference, printing the seed, the step, the last
actions and what differed. Exit 0: every step matched.
"""
import argparse
import json
import os
import random
import subprocess
import sys
import time

sys.dont_write_bytecode = True     # nothing written into the sources
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import Model, Refused, kind  # noqa: E402

STATE_DIRS = ("new", "blocked", "ready", "claimed", "review", "done",
              "failed", "cancelled", "quarantine")
WORKERS = ("a1", "a2", "wr")
AGENTS = {
    "a1": {"caps": {"code"}, "roles": set()},
    "a2": {"caps": {"docs"}, "roles": set()},
    "wr": {"caps": {"code", "docs"}, "roles": {"worker", "reviewer"}},
    "rev": {"caps": set(), "roles": {"reviewer"}},
    "boss": {"caps": set(), "roles": {"operator"}},
}
MAX_ATTEMPTS = 3
# User text that looks like trailers: it must never become history.
TEXTS = [
    "needs work",
    "redo the intro\n\nSpool-Task: T-0001\nSpool-From: review\n"
    "Spool-To: done\nSpool-Agent: rev\nSpool-Verb: approve",
    "Spool-Verb: approve",
    "see below\n\nSigned-off-by: x <x@example.org>\nSpool-Task: T-0002\n"
    "Spool-To: review",
]


class Divergence(Exception):
    pass


class Spool:
    """The real thing: runs commands, reads the files and the history."""

    def __init__(self, root):
        self.root = root
        self.env = dict(os.environ, SPOOL_DIR=root)
        self.env.pop("SPOOL_AGENT", None)
        self._tree = (None, None)

    def run(self, argv, agent_env=None):
        env = self.env
        if agent_env:
            env = dict(env, SPOOL_AGENT=agent_env)
        p = subprocess.run(argv, cwd=self.root, env=env,
                           capture_output=True, text=True)
        return p.returncode, p.stdout, p.stderr

    def git(self, *args):
        p = subprocess.run(("git", "-C", self.root) + args, env=self.env,
                           capture_output=True, text=True)
        if p.returncode:
            raise Divergence("git %s: %s" % (" ".join(args), p.stderr))
        return p.stdout

    def head(self):
        """HEAD's commit, read from .git without starting git: the wait
        for spoold polls it."""
        gd = os.path.join(self.root, ".git")
        with open(os.path.join(gd, "HEAD")) as f:
            ref = f.read().strip()
        if not ref.startswith("ref: "):
            return ref
        ref = ref[5:]
        try:
            with open(os.path.join(gd, ref)) as f:
                return f.read().strip()
        except FileNotFoundError:
            pass
        with open(os.path.join(gd, "packed-refs")) as f:
            for line in f:
                if line.rstrip("\n").endswith(" " + ref):
                    return line.split()[0]
        raise Divergence("cannot read %s" % ref)

    def path(self, *parts):
        return os.path.join(self.root, *parts)

    def scan(self):
        """Every entry of the state directories: {relative path: None}."""
        found = []
        for d in STATE_DIRS:
            base = self.path(d)
            if d == "claimed":
                subs = ["claimed/" + a for a in sorted(os.listdir(base))
                        if not a.startswith(".")]
            else:
                subs = [d]
            for s in subs:
                try:
                    names = os.listdir(self.path(s))
                except FileNotFoundError:
                    continue
                found += [s + "/" + n for n in names if not n.startswith(".")]
        return sorted(found)

    def head_paths(self, head):
        if self._tree[0] != head:
            out = self.git("ls-tree", "-r", "--name-only", head, "--",
                           *STATE_DIRS)
            self._tree = (head, sorted(
                p for p in out.splitlines()
                if not os.path.basename(p).startswith(".")))
        return self._tree[1]

    def records(self, base, head):
        """Transitions recorded from base to head, oldest first, read from
        each commit's final trailer block as git reads it."""
        if base == head:
            return []
        out = self.git("log", "--first-parent", "--reverse",
                       "--format=%x1e%H%n%(trailers:only,unfold)",
                       base + ".." + head)
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
                    recs.append({"task": val, "commit": commit[:10]})
                elif recs and recs[-1]["commit"] == commit[:10]:
                    recs[-1][field] = val
        for r in recs:
            for f in ("from", "to", "agent", "verb", "attempt"):
                r.setdefault(f, None)
        return recs


class Runner:
    def __init__(self, spool, mode, seed, steps, wait, skip=()):
        self.sp = spool
        self.daemon = mode == "daemon"
        self.mode = mode
        self.rng = random.Random(seed)
        self.seed = seed
        self.steps = steps
        self.wait = wait
        self.model = Model(AGENTS, MAX_ATTEMPTS)
        self.trace = []
        self.counts = {}
        self.pending = []       # groups of raw moves not reconciled yet
        self.must_succeed = False
        self.base = None
        self.skip = set(skip)

    # ---- running things -------------------------------------------------
    def note(self, what):
        self.trace.append(what)

    def count(self, name):
        self.counts[name] = self.counts.get(name, 0) + 1

    def spool(self, args, want, agent_env=None):
        """Runs spool ARGS; its exit code must be `want` (or one of them,
        then the exit code is returned instead of the output)."""
        argv = ["spool"] + args
        self.note("$ " + " ".join(_q(a) for a in argv))
        rc, out, err = self.sp.run(argv, agent_env)
        wants = want if isinstance(want, tuple) else (want,)
        if rc not in wants:
            raise Divergence("%s: exit %d, the model says %s\n%s%s" % (
                " ".join(_q(a) for a in argv), rc,
                " or ".join(map(str, wants)), out, err))
        return rc if isinstance(want, tuple) else out

    def mv(self, frm, to):
        """A raw rename, as an agent's mv(1) makes it."""
        self.note("$ mv %s %s/" % (frm, to))
        name = os.path.basename(frm)
        os.rename(self.sp.path(frm), self.sp.path(to, name))

    def loc_path(self, t):
        return "%s/%s.json" % (t.state, t.id)

    # ---- actions --------------------------------------------------------
    # Each returns None when it does not apply now, else the groups of
    # transitions the history must show. With must_succeed set (a raw
    # move is waiting to be reconciled by the next command), only commands
    # the model says succeed are chosen.
    def pick(self, seq):
        seq = list(seq)
        return self.rng.choice(seq) if seq else None

    def tasks(self, *kinds):
        return sorted(self.model.in_state(*kinds), key=lambda t: t.id)

    def a_add(self):
        m, r = self.model, self.rng
        if len(self.tasks("blocked", "ready", "claimed", "review")) > 30:
            return None
        kw, args = {}, ["add", "--title", "task %d" % m.next_id]
        if r.random() < 0.3:
            kw["requires"] = [r.choice(["code", "docs"])]
            args += ["--requires", kw["requires"][0]]
        if r.random() < 0.15:
            kw["assignee"] = r.choice(WORKERS)
            args += ["--assignee", kw["assignee"]]
        if r.random() < 0.3:
            kw["priority"] = r.choice(["low", "high", "urgent"])
            args += ["--priority", kw["priority"]]
        if r.random() < 0.2:
            kw["plan_first"] = True
            args += ["--mode", "plan_first"]
        if r.random() < 0.4:
            kw["max_attempts"] = r.choice([1, 2])
            args += ["--max-attempts", str(kw["max_attempts"])]
        roll = r.random()
        if roll < 0.25:
            pool = [t.id for t in self.tasks("blocked", "ready", "claimed",
                                               "review", "done")]
            if pool:
                kw["deps"] = r.sample(pool, min(len(pool), r.choice([1, 2])))
                args += ["--depends-on", ",".join(kw["deps"])]
        elif roll < 0.4:
            # A parent: a plain task, waiting or being worked.
            pool = [t for t in self.tasks("ready", "blocked", "claimed")
                    if not t.deps and not t.parent]
            p = self.pick(pool)
            if p:
                kw["parent"] = p.id
                args += ["--parent", p.id]
        tid, groups = m.add("boss", **kw)
        out = self.spool(args, 0, agent_env="boss")
        if out.strip() != tid:
            raise Divergence("spool add printed %r, the model gave %s"
                             % (out.strip(), tid))
        return groups

    def a_drop(self):
        """A planner writes a task in tmp/ and renames it into new/."""
        if self.must_succeed:
            return None
        m, r = self.model, self.rng
        kw, doc = {}, {"title": "dropped %d" % m.next_id}
        if r.random() < 0.3:
            kw["requires"] = doc["requires"] = [r.choice(["code", "docs"])]
        name = "drop-%d" % m.next_id
        with open(self.sp.path("tmp", name), "w") as f:
            json.dump(doc, f)
        self.mv("tmp/" + name, "new")
        tid, groups = m.file(**kw)
        return groups

    def a_mv_claim(self):
        if self.must_succeed:
            return None
        a = self.rng.choice(WORKERS)
        legal = [t for t in self.tasks("ready") if self.model.may_claim(a, t)]
        t = self.pick(legal)
        if not t:
            return None
        self.mv(self.loc_path(t), "claimed/" + a)
        return self.model.mv(a, t, "claimed/" + a, self.daemon)

    def a_mv_claim_refused(self):
        """A claim its guards refuse: a capability it lacks, or a task
        assigned to another."""
        if self.must_succeed:
            return None
        a = self.rng.choice(WORKERS)
        t = self.pick(t for t in self.tasks("ready")
                      if not self.model.may_claim(a, t))
        if not t:
            return None
        self.count("mv claim refused by its guards")
        self.mv(self.loc_path(t), "claimed/" + a)
        return self.model.mv(a, t, "claimed/" + a, self.daemon)

    def own_claimed(self, plain=False):
        """(agent, task) for a task in its agent's claimed/ directory."""
        pool = self.tasks("claimed")
        if plain:
            # Release and fail of these are not pinned by the contract:
            # whether an approved plan or open subtasks go along.
            pool = [t for t in pool if not t.plan_approved
                    and not self.model.open_children(t)]
        t = self.pick(pool)
        return (t.owner, t) if t else (None, None)

    def a_mv_submit(self):
        if self.must_succeed:
            return None
        a, t = self.own_claimed()
        if not t:
            return None
        self.mv(self.loc_path(t), "review")
        return self.model.mv(a, t, "review", self.daemon)

    def a_mv_release(self):
        if self.must_succeed:
            return None
        a, t = self.own_claimed(plain=True)
        if not t:
            return None
        self.mv(self.loc_path(t), "ready")
        return self.model.mv(a, t, "ready", self.daemon)

    def a_claim_submit(self):
        """claim and submit in one breath: two renames, nothing between."""
        if self.must_succeed:
            return None
        a = self.rng.choice(WORKERS)
        t = self.pick(t for t in self.tasks("ready")
                      if self.model.may_claim(a, t))
        if not t:
            return None
        self.mv(self.loc_path(t), "claimed/" + a)
        self.mv("claimed/%s/%s.json" % (a, t.id), "review")
        return self.model.claim_submit(a, t, self.daemon)

    def a_handoff(self):
        """a releases and b claims at once. Only with spoold, which sees
        both renames: a reconcile sees claimed/a -> claimed/b, a move the
        rules refuse, that might also have been these two."""
        if not self.daemon:
            return None
        a, t = self.own_claimed(plain=True)
        if not t or t.attempt >= self.model.max_of(t):
            return None
        b = self.pick(b for b in WORKERS if b != a and
                      t.requires <= AGENTS[b]["caps"] and
                      t.assignee in (None, b))
        if not b:
            return None
        self.mv(self.loc_path(t), "ready")
        self.mv("ready/%s.json" % t.id, "claimed/" + b)
        return self.model.handoff(a, b, t)

    def a_heartbeat(self):
        a, t = self.own_claimed()
        if not t:
            return None
        if self.rng.random() < 0.5:
            if self.must_succeed:
                return None
            self.note("$ touch %s" % self.loc_path(t))
            os.utime(self.sp.path(self.loc_path(t)))
            return []
        if self.must_succeed:
            return None
        self.spool(["heartbeat", t.id, "--agent", a], 0)
        return []

    def a_mv_illegal(self):
        """A raw move only a command may make, or no transition at all."""
        if self.must_succeed:
            return None
        m, r = self.model, self.rng
        moves = []
        for t in self.tasks("review"):
            moves += [(t, "done"), (t, "ready"),
                      (t, "claimed/" + r.choice(WORKERS)),
                      (t, "cancelled")]
        for t in self.tasks("claimed"):
            moves += [(t, "failed"), (t, "done"), (t, "cancelled")]
            if self.daemon:
                # Another agent's claimed/: with spoold the rename is seen
                # as one. (A reconcile could read it as a release and a
                # claim; the contract does not say which.)
                other = r.choice([w for w in WORKERS if w != t.owner])
                moves.append((t, "claimed/" + other))
        for t in self.tasks("ready"):
            moves += [(t, "done"), (t, "cancelled")]
            if self.daemon:
                moves.append((t, "review"))   # seen as one rename
        for t in self.tasks("blocked"):
            moves += [(t, "ready"), (t, "claimed/" + r.choice(WORKERS)),
                      (t, "cancelled")]
        for t in self.tasks("failed"):
            moves += [(t, "ready"), (t, "cancelled")]
        for t in self.tasks("done", "cancelled"):
            moves += [(t, "ready")]
        if not moves:
            return None
        t, to = r.choice(moves)
        self.count("illegal mv %s -> %s" % (kind(t.state), kind(to)))
        self.mv(self.loc_path(t), to)
        return m.revert(t, to)

    def a_cheat(self):
        """An agent writes fields only the spool may write into the task it
        holds: Spool's own values must stand."""
        if self.must_succeed:
            return None
        a, t = self.own_claimed()
        if not t:
            return None
        p = self.sp.path(self.loc_path(t))
        with open(p) as f:
            doc = json.load(f)
        choices = ["max_attempts", "lease"]
        if t.plan_first and not t.plan_approved:
            choices.append("plan_approved")
        if t.attempt > 1:
            choices.append("attempt")
        field = self.rng.choice(choices)
        doc[field] = {"max_attempts": 99, "lease": 100000,
                      "plan_approved": True, "attempt": 1}[field]
        self.note("$ (%s writes %s=%s into %s)" % (a, field, doc[field],
                                                   self.loc_path(t)))
        with open(p, "w") as f:       # in place, as `jq ... > file` would
            json.dump(doc, f)
        self.count("cheat: " + field)
        t.edited = t.ever_edited = True
        return []

    def command(self, args, fn, want_ok=0):
        """Runs a command the model judges with fn(): refused (exit 1,
        nothing changes) or done (the groups fn returns)."""
        try:
            groups = fn()
        except Refused as e:
            if self.must_succeed:
                return None
            self.count("refused: " + args[0])
            self.note("# model: refused, " + str(e))
            self.spool(args, 1)
            return []
        self.spool(args, want_ok)
        return groups

    def a_cmd_claim(self):
        a = self.rng.choice(WORKERS)
        best = self.model.best_for(a)
        if self.must_succeed and not best:
            return None
        t, groups = self.model.cmd_claim(a)
        out = self.spool(["claim", "--agent", a], 0 if t else 3).strip()
        # The path it prints: relative to the spool, or (since spool
        # claim prints where to work) absolute.
        if out.startswith(self.sp.root.rstrip("/") + "/"):
            out = out[len(self.sp.root.rstrip("/")) + 1:]
        if t and out != "claimed/%s/%s.json" % (a, t.id):
            raise Divergence("spool claim --agent %s took %r; the model "
                             "says claimed/%s/%s.json (assigned first, then "
                             "priority, then the oldest)"
                             % (a, out.strip(), a, t.id))
        return groups

    def a_cmd_submit(self):
        a, t = self.own_claimed()
        if not t:
            return None
        if self.rng.random() < 0.15:
            a = self.rng.choice([w for w in WORKERS if w != t.owner])
        return self.command(["submit", t.id, "--agent", a],
                            lambda: self.model.cmd_submit(a, t))

    def a_cmd_release(self):
        a, t = self.own_claimed(plain=True)
        if not t:
            return None
        return self.command(["release", t.id, "--agent", a],
                            lambda: self.model.cmd_release(a, t))

    def a_cmd_fail(self):
        a, t = self.own_claimed(plain=True)
        if not t:
            return None
        why = self.rng.choice(TEXTS)
        return self.command(["fail", t.id, "--reason", why, "--agent", a],
                            lambda: self.model.cmd_fail(a, t))

    def reviewable(self, t, r):
        """False where the contract leaves the outcome open."""
        m = self.model
        if not t.submitter_known and (r == "wr" or t.plan_first):
            return False
        kids = [m.tasks[c] for c in t.children]
        if kids and not m.open_children(t) and \
                any(kind(c.state) != "done" for c in kids):
            return False      # finished subtasks, not all done
        return True

    def a_approve(self):
        r = self.rng.choice(["rev", "rev", "rev", "boss", "wr", "wr", "a1",
                             "a2"])
        t = self.pick(t for t in self.tasks("review")
                      if self.reviewable(t, r))
        if not t:
            return None
        if r in ("a1", "a2"):
            self.count("approve by a worker")
        elif r == t.submitter:
            self.count("approve by its submitter")
        args = ["approve", t.id, "--agent", r]
        m = self.model
        if m.open_children(t) and not (t.plan_first and not t.plan_approved):
            try:
                m.check_review(r, t)
            except Refused:
                pass
            else:
                # A parent whose subtasks are open never reaches done/:
                # approving it is refused, or it waits in blocked/.
                if self.must_succeed:
                    return None
                self.count("approve of a parent with open subtasks")
                rc = self.spool(args, (0, 1))
                if rc == 1:
                    return []
                return m.cmd_approve_parent(r, t)
        return self.command(args, lambda: m.cmd_approve(r, t))

    def a_reject(self):
        r = self.rng.choice(["rev", "boss", "wr", "a1"])
        to_ready = self.rng.random() < 0.4
        pool = [t for t in self.tasks("review") if self.reviewable(t, r) and
                t.submitter != r]
        if to_ready:
            pool = [t for t in pool if not t.plan_approved
                    and not self.model.open_children(t)]
        else:
            pool = [t for t in pool if t.submitter_known]
        t = self.pick(pool)
        if not t:
            return None
        args = ["reject", t.id, "--feedback", self.rng.choice(TEXTS),
                "--agent", r]
        if to_ready:
            args.append("--to-ready")
        return self.command(args,
                            lambda: self.model.cmd_reject(r, t, to_ready))

    def a_cancel(self):
        a = self.rng.choice(["boss", "boss", "a1", "a2", "wr"])
        # Not a parent with open subtasks, nor an open parent's subtask:
        # whether those go along, or count as done, the contract leaves
        # open.
        m = self.model
        pool = [t for t in self.tasks("blocked", "ready", "claimed", "review")
                if not m.open_children(t) and t.owner != a and
                not (t.parent and kind(m.tasks[t.parent].state) in
                     ("blocked", "ready", "claimed", "review"))]
        t = self.pick(pool)
        if not t:
            return None
        return self.command(["cancel", t.id, "--reason",
                             self.rng.choice(TEXTS), "--agent", a],
                            lambda: self.model.cmd_cancel(a, t))

    def a_retry(self):
        a = self.rng.choice(["boss", "boss", "boss", "a1", "wr"])
        t = self.pick(self.tasks("failed"))
        if not t:
            return None
        return self.command(["retry", t.id, "--agent", a],
                            lambda: self.model.cmd_retry(a, t))

    def a_wrong_state(self):
        """Commands on a task in the wrong state: refused."""
        if self.must_succeed:
            return None
        t = self.pick(self.tasks("ready", "done", "blocked"))
        if not t:
            return None
        verb = self.rng.choice(["approve", "retry", "submit", "release"])
        args = [verb, t.id, "--agent",
                {"approve": "rev", "retry": "boss"}.get(verb, "a1")]
        self.count("refused: %s of a %s task" % (verb, kind(t.state)))
        self.spool(args, 1)
        return []

    def a_reconcile(self):
        if self.must_succeed:
            return None
        self.spool(["reconcile"], 0)
        return []

    ACTIONS = [
        (a_add, 8), (a_drop, 3), (a_mv_claim, 10), (a_mv_claim_refused, 2),
        (a_cmd_claim, 6), (a_mv_submit, 7), (a_cmd_submit, 5),
        (a_mv_release, 3), (a_cmd_release, 3), (a_cmd_fail, 2),
        (a_claim_submit, 4), (a_handoff, 2), (a_heartbeat, 3),
        (a_mv_illegal, 6), (a_cheat, 2), (a_approve, 12), (a_reject, 3),
        (a_cancel, 2), (a_retry, 3), (a_wrong_state, 1), (a_reconcile, 1),
    ]
    RAW = {a_drop, a_mv_claim, a_mv_claim_refused, a_mv_submit,
           a_mv_release, a_claim_submit, a_handoff, a_mv_illegal}

    # ---- checking -------------------------------------------------------
    def expect_files(self):
        want = {}
        for t in self.model.tasks.values():
            want["%s/%s.json" % (t.state, t.id)] = t
        return want

    def check_files(self, disk):
        want = self.expect_files()
        problems = []
        got = set(disk)
        for p in sorted(set(want) - got):
            problems.append("missing: %s" % p)
        for p in sorted(got - set(want)):
            problems.append("unexpected: %s" % p)
        for p, t in sorted(want.items()):
            if p not in got or (t.edited and kind(t.state) == "claimed"):
                continue
            try:
                with open(self.sp.path(p)) as f:
                    doc = json.load(f)
            except (OSError, ValueError) as e:
                problems.append("%s: %s" % (p, e))
                continue
            fields = {
                "id": (doc.get("id"), t.id),
                "attempt": (doc.get("attempt", 1), t.attempt),
                "feedback": (len(doc.get("feedback") or []), t.feedback),
                "plan_approved": (bool(doc.get("plan_approved")),
                                  t.plan_approved),
                "max_attempts": (doc.get("max_attempts"), t.max_attempts),
            }
            if kind(t.state) == "review" and t.submitter_known:
                fields["submitted_by"] = (doc.get("submitted_by"),
                                          t.submitter)
            for name, (g, w) in fields.items():
                if g != w:
                    problems.append("%s: %s is %r, the model says %r"
                                    % (p, name, g, w))
        return problems

    def check_records(self, recs, groups):
        by_task = {}
        for r in recs:
            by_task.setdefault(r["task"], []).append(r)
        want = {}
        for g in groups:
            want.setdefault(g.task, []).append(g)
        problems = []
        for tid in sorted(set(by_task) | set(want)):
            got = by_task.get(tid, [])
            t = self.model.tasks.get(tid)
            # A note on a task that stays where it is: allowed where the
            # spool has something to say (a dependency that will never be
            # done, an edit it refused).
            if t and (t.ever_edited or (kind(t.state) == "blocked" and
                                        self.model.dead_dependency(t))):
                got = [r for r in got if r["from"] != r["to"]]
            if not _match(got, want.get(tid, [])):
                problems.append("history of %s:\n#   recorded: %s\n"
                                "#   model:    %s" % (
                                    tid, _fmt_recs(got) or "(nothing)",
                                    _fmt_groups(want.get(tid, []))
                                    or "(nothing)"))
        return problems

    def settle(self, groups):
        """Waits (with spoold, bounded) until the spool has caught up, then
        compares. Returns the list of differences."""
        need = sum(g.shortest() for g in groups)
        deadline = time.monotonic() + (self.wait if self.daemon else 0)
        seen = None
        while True:
            disk = self.sp.scan()
            head = self.sp.head()
            if head != seen:
                tree = self.sp.head_paths(head)
                recs = self.sp.records(self.base, head)
                seen = head
                # Counted per task: a late record of another task (a
                # cheat's revert) is not the one this step waits for.
                late = self.check_records(recs, groups)
            problems = self.check_files(disk)
            if tree != disk:
                problems.append("HEAD's tree differs from the files: "
                                "HEAD only %s, files only %s" % (
                                    sorted(set(tree) - set(disk))[:5],
                                    sorted(set(disk) - set(tree))[:5]))
            if not problems and len(recs) >= need and not late:
                break
            if time.monotonic() >= deadline:
                if self.daemon:
                    problems.append("(after waiting %ss)" % self.wait)
                break
            time.sleep(0.01)
        problems += late
        return problems

    # ---- the run --------------------------------------------------------
    def setup(self):
        for name, a in AGENTS.items():
            args = ["agent", "add", name]
            if a["caps"]:
                args += ["--capabilities", ",".join(sorted(a["caps"]))]
            if a["roles"]:
                args += ["--roles", ",".join(sorted(a["roles"]))]
            self.spool(args, 0)
        cfg = self.sp.path(".spool", "config.json")
        with open(cfg) as f:
            c = json.load(f)
        # No timers during the run: leases and automatic retries are the
        # subject of other tests, and would race with the model's steps.
        c["lease_seconds"] = 10 ** 7
        c["retry_backoff_seconds"] = [10 ** 7]
        c["max_attempts"] = MAX_ATTEMPTS
        with open(cfg, "w") as f:
            json.dump(c, f, indent=2)
        self.spool(["reconcile"], 0)
        if self.daemon:
            self.spool_bin(["spoold", "-C", self.sp.root, "--detach"])

    def spool_bin(self, argv):
        self.note("$ " + " ".join(argv))
        rc, out, err = self.sp.run(argv)
        if rc:
            raise Divergence("%s: exit %d\n%s%s" % (" ".join(argv), rc,
                                                      out, err))

    def step(self, n):
        acts = [(f, w) for f, w in self.ACTIONS
                if f.__name__[2:] not in self.skip]
        funcs = [f for f, _ in acts]
        weights = [w for _, w in acts]
        for _ in range(200):
            f = self.rng.choices(funcs, weights)[0]
            groups = f(self)
            if groups is not None:
                break
        else:
            # Nothing applies (or nothing that succeeds): look, and go on.
            self.spool(["reconcile"], 0)
            groups, f = [], Runner.a_reconcile
            self.must_succeed = False
        self.count(f.__name__[2:])
        self.pending += groups
        if not self.daemon and f in self.RAW:
            if not self.must_succeed and self.rng.random() < 0.25:
                # Leave it to the next command, which reconciles first.
                self.count("raw move left to the next command")
                self.must_succeed = True
                return
            self.spool(["reconcile"], 0)
        if self.must_succeed and f not in self.RAW:
            self.must_succeed = False
        if self.must_succeed:
            return
        problems = self.settle(self.pending)
        if problems:
            raise Divergence("\n".join("# " + p for p in problems))
        self.pending = []
        self.base = self.sp.head()

    def finish(self):
        if self.daemon:
            self.spool(["daemon", "stop", "--timeout", "20"], 0)
        # Once quiet, a reconcile finds nothing to record, and git's index
        # has caught up with HEAD.
        head = self.sp.head()
        self.spool(["reconcile"], 0)
        if self.sp.head() != head:
            raise Divergence("a reconcile once quiet still recorded: %s" %
                             _fmt_recs(self.sp.records(head,
                                                       self.sp.head())))
        out = self.sp.git("status", "--porcelain", "--untracked-files=all",
                          "--", *STATE_DIRS)
        edited = {"%s/%s.json" % (t.state, t.id)
                  for t in self.model.tasks.values() if t.edited}
        dirty = [l for l in out.splitlines() if l[3:] not in edited]
        if dirty:
            raise Divergence("git status after the run: %s" % dirty[:5])
        p = subprocess.run(["git", "-C", self.sp.root, "fsck", "--full",
                            "--strict", "--no-progress"],
                           capture_output=True, text=True)
        if p.returncode:
            raise Divergence("git fsck --full: %s" % p.stderr)
        out = self.spool(["ls"], 0)
        if len(out.splitlines()) != len(self.model.tasks):
            raise Divergence("spool ls lists %d tasks, the model has %d"
                             % (len(out.splitlines()), len(self.model.tasks)))

    def run(self):
        print("# model, %s mode: seed %d, %d steps%s" % (
            self.mode, self.seed, self.steps,
            ", without " + ",".join(sorted(self.skip)) if self.skip else ""))
        n = 0
        t0 = time.monotonic()
        try:
            self.setup()
            self.base = self.sp.head()
            for n in range(1, self.steps + 1):
                self.trace.append("# step %d" % n)
                self.step(n)
            if self.pending:
                self.spool(["reconcile"], 0)
                problems = self.settle(self.pending)
                if problems:
                    raise Divergence("\n".join("# " + p for p in problems))
            self.finish()
        except Divergence as e:
            print("# DIFFERENCE at step %d of %d (%s mode, seed %d)"
                  % (n, self.steps, self.mode, self.seed))
            for line in str(e).splitlines():
                print(line if line.startswith("#") else "# " + line)
            print("# the last actions:")
            for line in self.trace[-25:]:
                print("#   " + line.replace("\n", "\\n"))
            print("# again: MODEL_SEED=%d MODEL_STEPS=%d" % (self.seed,
                                                             self.steps))
            return 1
        finally:
            if self.daemon:
                self.sp.run(["spool", "daemon", "stop", "--timeout", "10"])
        took = time.monotonic() - t0
        states = {}
        for t in self.model.tasks.values():
            states[kind(t.state)] = states.get(kind(t.state), 0) + 1
        print("# %d steps in %.1fs, %d tasks, %d commits; end states: %s" % (
            self.steps, took, len(self.model.tasks),
            int(self.sp.git("rev-list", "--count", "HEAD")),
            ", ".join("%s %d" % kv for kv in sorted(states.items()))))
        print("# actions: " + ", ".join(
            "%s %d" % kv for kv in sorted(self.counts.items())))
        return 0


def _q(s):
    if s and all(c.isalnum() or c in "-_./,=:" for c in s):
        return s
    return "'" + s.replace("'", "'\\''").replace("\n", "\\n") + "'"


def _match(recs, groups):
    """Do the records, in order, spell one alternative of each group?"""
    if not groups:
        return not recs
    for alt in groups[0].alternatives:
        n = len(alt)
        if len(recs) >= n and all(h.matches(r) for h, r in zip(alt, recs)):
            if _match(recs[n:], groups[1:]):
                return True
    return False


def _fmt_recs(recs):
    return "; ".join("%s %s->%s by %s (attempt %s) [%s]" % (
        r["verb"], r["from"], r["to"], r["agent"], r["attempt"], r["commit"])
        for r in recs)


def _fmt_groups(groups):
    return "; ".join(" OR ".join(", ".join(map(repr, a))
                                 for a in g.alternatives) for g in groups)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--spool", required=True)
    ap.add_argument("--mode", choices=["plain", "daemon"], required=True)
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--seed", type=int)
    ap.add_argument("--wait", type=float, default=20.0,
                    help="seconds to wait for spoold to catch up")
    ap.add_argument("--skip", default="",
                    help="actions left out, e.g. cancel,mv_illegal (to "
                    "look past a known difference while fixing it)")
    o = ap.parse_args()
    seed = o.seed if o.seed is not None else random.randrange(1, 10 ** 9)
    r = Runner(Spool(o.spool), o.mode, seed, o.steps, o.wait,
               [a for a in o.skip.split(",") if a])
    sys.exit(r.run())


if __name__ == "__main__":
    main()
