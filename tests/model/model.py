"""A reference model of the spool's state machine, for tests/model/run.py.

It knows nothing of the implementation: it is written from the contract
(docs/protocol.md). Each rule answers one question: given this state, this
actor and this channel (a raw mv or a command), what must happen, and which
transitions must the history show.

A transition the history must show is a Hop: task, from, to, the verbs
accepted, the agent (a name, None for "any", or Unattributed(name)), and the
attempt recorded with it. Where the contract leaves two readings open, a
Group lists both as alternatives; otherwise it has one.
"""

OPEN = ("new", "blocked", "ready", "claimed", "review")
PRIORITY = {"low": 0, "normal": 1, "high": 2, "urgent": 3}


def kind(loc):
    """'claimed/a1' -> 'claimed'."""
    return loc.split("/", 1)[0]


class Unattributed:
    """The agent is the one named, or marked as not known; never another
    registered agent."""

    def __init__(self, name, registered):
        self.name = name
        self.others = set(registered) - {name}

    def accepts(self, got):
        return got == self.name or got not in self.others

    def __repr__(self):
        return "%s-or-unattributed" % self.name


class Hop:
    def __init__(self, task, frm, to, verbs, agent=None, attempt=None):
        self.task, self.frm, self.to = task, frm, to
        self.verbs = {verbs} if isinstance(verbs, str) else set(verbs)
        self.agent, self.attempt = agent, attempt

    def place_matches(self, want, got):
        """An unattributed claim is recorded through claimed/unknown
        (docs/protocol.md): the place names the agent the record does."""
        if want == got:
            return True
        return (isinstance(self.agent, Unattributed) and
                want.startswith("claimed/") and got.startswith("claimed/")
                and self.agent.accepts(got.split("/", 1)[1]))

    def matches(self, r):
        if r["task"] != self.task or \
                not self.place_matches(self.frm, r["from"]) or \
                not self.place_matches(self.to, r["to"]):
            return False
        if r["verb"] not in self.verbs:
            return False
        if isinstance(self.agent, Unattributed):
            if not self.agent.accepts(r["agent"]):
                return False
        elif self.agent is not None and r["agent"] != self.agent:
            return False
        if self.attempt is not None and r["attempt"] != str(self.attempt):
            return False
        return True

    def __repr__(self):
        return "%s %s %s->%s by %s (attempt %s)" % (
            "|".join(sorted(self.verbs)), self.task, self.frm, self.to,
            self.agent if self.agent is not None else "anyone",
            self.attempt if self.attempt is not None else "any")


class Group:
    """One step of a task's story: one of the alternatives, each a list of
    hops in order."""

    def __init__(self, *alternatives):
        self.alternatives = [list(a) for a in alternatives]

    @property
    def task(self):
        return self.alternatives[0][0].task

    def shortest(self):
        return min(len(a) for a in self.alternatives)


def one(*hops):
    return Group(list(hops))


class Task:
    def __init__(self, tid, state, **kw):
        self.id = tid
        self.state = state            # 'ready', 'claimed/a1', ...
        self.attempt = 1
        self.max_attempts = kw.get("max_attempts")   # None: the config's
        self.requires = set(kw.get("requires") or ())
        self.assignee = kw.get("assignee")
        self.priority = kw.get("priority", "normal")
        self.plan_first = kw.get("plan_first", False)
        self.plan_approved = False
        self.submitter = None         # None: nobody yet, or not known
        self.submitter_known = True
        self.feedback = 0
        self.deps = list(kw.get("deps") or ())
        self.parent = kw.get("parent")
        self.children = []
        self.edited = False           # the agent wrote fields it may not
        self.ever_edited = False

    @property
    def owner(self):
        k, _, a = self.state.partition("/")
        return a if k == "claimed" else None


class Refused(Exception):
    """The model says this command must fail and change nothing."""


class Model:
    def __init__(self, agents, default_max_attempts, id_prefix="T-"):
        # agents: name -> {"caps": set, "roles": set}
        self.agents = agents
        self.default_max = default_max_attempts
        self.prefix = id_prefix
        self.tasks = {}
        self.next_id = 1

    # ---- queries ------------------------------------------------------
    def new_id(self):
        tid = "%s%04d" % (self.prefix, self.next_id)
        self.next_id += 1
        return tid

    def max_of(self, t):
        return t.max_attempts if t.max_attempts is not None else self.default_max

    def in_state(self, *kinds):
        return [t for t in self.tasks.values() if kind(t.state) in kinds]

    def is_worker(self, a):
        roles = self.agents[a]["roles"]
        return not roles or "worker" in roles

    def may_review(self, a):
        return bool(self.agents[a]["roles"] & {"reviewer", "operator"})

    def is_operator(self, a):
        return "operator" in self.agents[a]["roles"]

    def may_claim(self, a, t):
        return (kind(t.state) == "ready" and a in self.agents and
                self.is_worker(a) and t.requires <= self.agents[a]["caps"]
                and t.assignee in (None, a))

    def open_children(self, t):
        return [c for c in t.children
                if kind(self.tasks[c].state) in OPEN]

    def best_for(self, a):
        """The task spool claim must take: assigned to a first, then
        priority, then the oldest (ids are given in order of creation)."""
        cand = [t for t in self.tasks.values() if self.may_claim(a, t)]
        if not cand:
            return None
        cand.sort(key=lambda t: (t.assignee != a, -PRIORITY[t.priority],
                                 int(t.id[len(self.prefix):])))
        return cand[0]

    def dead_dependency(self, t):
        """Waits on something that will never be done: the spool may note it
        (a record from blocked to blocked)."""
        return any(kind(self.tasks[d].state) in ("failed", "cancelled")
                   for d in t.deps + t.children if d in self.tasks)

    # ---- effects shared by several transitions -----------------------
    def _move(self, t, to):
        t.state = to
        if kind(to) != "claimed":
            t.edited = False

    def _settle(self):
        """What the spool does by itself once something is done: release
        dependants whose dependencies are all done, complete parents whose
        children are all done. Repeats, since one may free the next."""
        groups = []
        changed = True
        while changed:
            changed = False
            for t in sorted(self.tasks.values(), key=lambda t: t.id):
                if kind(t.state) != "blocked":
                    continue
                deps_done = all(kind(self.tasks[d].state) == "done"
                                for d in t.deps)
                kids_done = all(kind(self.tasks[c].state) == "done"
                                for c in t.children)
                if t.children and kids_done and deps_done:
                    self._move(t, "done")
                    groups.append(one(Hop(t.id, "blocked", "done", "complete",
                                          "spool", t.attempt)))
                    changed = True
                elif not t.children and deps_done:
                    self._move(t, "ready")
                    groups.append(one(Hop(t.id, "blocked", "ready", "unblock",
                                          "spool", t.attempt)))
                    changed = True
        return groups

    def _release(self, t, a, verbs=("release",)):
        """claimed/a -> ready with attempt + 1, or failed/ after the last."""
        frm = t.state
        if t.attempt >= self.max_of(t):
            self._move(t, "failed")
            # Recorded as one move to failed/, or as the release the agent
            # made followed by the spool's move to failed/.
            return [Group([Hop(t.id, frm, "failed", ("fail", "release"), a,
                               t.attempt)],
                          [Hop(t.id, frm, "ready", "release", a, t.attempt),
                           Hop(t.id, "ready", "failed", "fail", None,
                               t.attempt)])]
        t.attempt += 1
        self._move(t, "ready")
        return [one(Hop(t.id, frm, "ready", verbs, a, t.attempt))]

    # ---- adding work --------------------------------------------------
    def add(self, actor, **kw):
        """spool add: returns (id, groups)."""
        tid = self.new_id()
        deps = kw.get("deps") or []
        parent = kw.get("parent")
        state = "ready"
        if any(kind(self.tasks[d].state) != "done" for d in deps):
            state = "blocked"
        t = Task(tid, state, **kw)
        self.tasks[tid] = t
        groups = [one(Hop(tid, "none", state, "add", actor, 1))]
        if parent:
            p = self.tasks[parent]
            p.children.append(tid)
            if kind(p.state) == "ready":
                self._move(p, "blocked")
                groups.append(one(Hop(p.id, "ready", "blocked", "block",
                                      "spool", p.attempt)))
        return tid, groups

    def file(self, **kw):
        """A task dropped in new/ (tmp/, then mv) and filed by the spool."""
        tid = self.new_id()
        t = Task(tid, "ready", **kw)
        self.tasks[tid] = t
        return tid, [one(Hop(tid, "new", "ready", "file", "spool", 1))]

    # ---- raw moves ----------------------------------------------------
    def revert(self, t, to):
        """An illegal mv of t to `to`: undone, recorded, nothing else."""
        return [one(Hop(t.id, to, t.state, "revert"))]

    def mv(self, a, t, to, daemon):
        """Agent a renames t's file into `to`. Returns the groups."""
        frm = t.state
        if kind(frm) == "ready" and to == "claimed/" + a:
            if not self.may_claim(a, t):
                return self.revert(t, to)
            self._move(t, to)
            return [one(Hop(t.id, frm, to, "claim", a, t.attempt))]
        if frm == "claimed/" + a and to == "review":
            self._move(t, "review")
            t.submitter, t.submitter_known = a, True
            return [one(Hop(t.id, frm, "review", "submit", a, t.attempt))]
        if frm == "claimed/" + a and to == "ready":
            return self._release(t, a)
        # Every other raw move is a command's job, or no transition at all.
        return self.revert(t, to)

    def claim_submit(self, a, t, daemon):
        """ready -> claimed/a -> review in one breath, before anyone looks.
        spoold sees both events and knows who; a reconcile sees ready ->
        review and either knows who or marks it unattributed."""
        assert self.may_claim(a, t)
        who = a if daemon else Unattributed(a, self.agents)
        self._move(t, "review")
        t.submitter = a
        t.submitter_known = daemon
        return [one(Hop(t.id, "ready", "claimed/" + a, "claim", who,
                        t.attempt),
                    Hop(t.id, "claimed/" + a, "review", "submit", who,
                        t.attempt))]

    def handoff(self, a, b, t):
        """a releases and b claims at once (only where spoold sees both)."""
        assert t.state == "claimed/" + a and t.attempt < self.max_of(t)
        groups = self._release(t, a)
        assert self.may_claim(b, t)
        self._move(t, "claimed/" + b)
        groups.append(one(Hop(t.id, "ready", "claimed/" + b, "claim", b,
                              t.attempt)))
        return groups

    # ---- commands -----------------------------------------------------
    def _own(self, a, t, what):
        if t.owner is None:
            raise Refused("cannot %s: %s is in %s" % (what, t.id, t.state))
        if t.owner != a and not self.is_operator(a):
            raise Refused("%s is claimed by %s, not %s" % (t.id, t.owner, a))

    def cmd_claim(self, a):
        t = self.best_for(a)
        if t is None:
            return None, []
        frm = t.state
        self._move(t, "claimed/" + a)
        return t, [one(Hop(t.id, frm, t.state, "claim", a, t.attempt))]

    def cmd_submit(self, a, t):
        self._own(a, t, "submit")
        frm = t.state
        self._move(t, "review")
        t.submitter, t.submitter_known = frm.split("/", 1)[1], True
        return [one(Hop(t.id, frm, "review", "submit", a, t.attempt))]

    def cmd_release(self, a, t):
        self._own(a, t, "release")
        return self._release(t, a)

    def cmd_fail(self, a, t):
        self._own(a, t, "fail")
        frm = t.state
        self._move(t, "failed")
        return [one(Hop(t.id, frm, "failed", "fail", a, t.attempt))]

    def check_review(self, r, t):
        if kind(t.state) != "review":
            raise Refused("%s is in %s, not review" % (t.id, t.state))
        if not self.may_review(r):
            raise Refused("%s has no reviewer role" % r)
        if t.submitter == r:
            raise Refused("%s submitted %s and cannot review it" % (r, t.id))

    def cmd_approve(self, r, t):
        self.check_review(r, t)
        if t.plan_first and not t.plan_approved:
            t.plan_approved = True
            to = "claimed/" + t.submitter
            self._move(t, to)
            return [one(Hop(t.id, "review", to, "approve-plan", r,
                            t.attempt))]
        if self.open_children(t):
            raise Refused("%s has open subtasks" % t.id)
        return self._approve_done(r, t)

    def _approve_done(self, r, t):
        self._move(t, "done")
        return [one(Hop(t.id, "review", "done", "approve", r, t.attempt))] + \
            self._settle()

    def cmd_approve_parent(self, r, t):
        """The other reading of approving a parent whose subtasks are
        open: accepted, it waits in blocked/ and completes with them."""
        self.check_review(r, t)
        assert self.open_children(t) and not (t.plan_first and
                                              not t.plan_approved)
        self._move(t, "blocked")
        return [one(Hop(t.id, "review", "blocked", "approve", r, t.attempt))]

    def cmd_reject(self, r, t, to_ready):
        self.check_review(r, t)
        to = "ready" if to_ready else "claimed/" + t.submitter
        self._move(t, to)
        t.feedback += 1
        return [one(Hop(t.id, "review", to, "reject", r, t.attempt))]

    def cmd_cancel(self, a, t):
        if kind(t.state) not in OPEN:
            raise Refused("%s is finished (%s)" % (t.id, t.state))
        if not self.is_operator(a):
            raise Refused("%s is not an operator" % a)
        frm = t.state
        self._move(t, "cancelled")
        return [one(Hop(t.id, frm, "cancelled", "cancel", a, t.attempt))]

    def cmd_retry(self, a, t):
        if kind(t.state) != "failed":
            raise Refused("%s is in %s, not failed" % (t.id, t.state))
        if not self.is_operator(a):
            raise Refused("%s is not an operator" % a)
        t.attempt += 1
        self._move(t, "ready")
        return [one(Hop(t.id, "failed", "ready", "retry", a, t.attempt))]
