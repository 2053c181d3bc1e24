/*
 * spool verify: the history checked from its first commit to HEAD. Each
 * transition must be one the table (machine.h) lets its actor make, with
 * the roles the registry gave it in the commit before; each commit's
 * author must be the actor its trailers name; once a commit is signed,
 * every later one must be, by the spool's key (ssh-keygen -Y verify);
 * and the files must be what HEAD says. The first problem is reported.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "error.h"
#include "machine.h"
#include "state.h"
#include "root.h"
#include "history.h"
#include "repo.h"
#include "sign.h"
#include "trailer.h"
#include "registry.h"
#include "task-files.h"
#include "verify.h"

struct vctx {
	spool *sp;
	git_commit *commit;
	git_tree *before;	/* the parent's tree; NULL for the first */
	const char *author;
	char *why;
	size_t len;
	bool first;
};

/* The registry entry of name as the tree had it, or NULL. */
static json_t *agent_at(git_repository *repo, git_tree *tree,
			const char *name)
{
	char path[PATH_MAX];
	git_tree_entry *e = NULL;
	git_blob *b = NULL;
	json_t *a = NULL;

	if (!tree)
		return NULL;
	snprintf(path, sizeof(path), "agents/%s.json", name);
	if (git_tree_entry_bypath(&e, tree, path) == 0 &&
	    git_blob_lookup(&b, repo, git_tree_entry_id(e)) == 0)
		a = json_loadb(git_blob_rawcontent(b),
			       (size_t)git_blob_rawsize(b), 0, NULL);
	git_error_clear();
	git_blob_free(b);
	git_tree_entry_free(e);
	return a;
}

static unsigned roles_at(struct vctx *v, const spool_transition *t)
{
	const char *holder = spool_machine_holder(&t->from, &t->to);
	unsigned roles = SPOOL_WHO_ANYONE;
	json_t *a;

	if (strcmp(t->actor, "spool") == 0)
		return SPOOL_WHO_SPOOL;
	if (holder && strcmp(holder, t->actor) == 0)
		roles |= SPOOL_WHO_SELF;
	if (strcmp(t->actor, SPOOL_AGENT_UNKNOWN) == 0)
		return roles | SPOOL_WHO_SELF;	/* unseen: as recorded */
	if (!(a = agent_at(v->sp->repo, v->before, t->actor)))
		return roles | SPOOL_WHO_OPERATOR;	/* a person */
	if (spool_agent_has_role(a, "reviewer"))
		roles |= SPOOL_WHO_REVIEWER;
	if (spool_agent_has_role(a, "operator"))
		roles |= SPOOL_WHO_OPERATOR | SPOOL_WHO_REVIEWER;
	json_decref(a);
	return roles;
}

/* Verbs the spool records that are not moves of the table: undoing what
 * was illegal, bringing back what was lost, archiving. */
static bool repair_verb(const char *verb)
{
	return !strcmp(verb, "revert") || !strcmp(verb, "restore") ||
	       !strcmp(verb, "archive");
}

static int check_one(void *data, const spool_transition *t, size_t index,
		     size_t count)
{
	struct vctx *v = data;
	char from[128], to[128];
	bool row = false;
	unsigned roles;

	(void)count;
	spool_loc_format(from, sizeof(from), &t->from);
	spool_loc_format(to, sizeof(to), &t->to);
	if (index == 0) {
		char name[SPOOL_NAME_MAX + 1];
		spool_trailer_value(name, sizeof(name), t->actor);
		for (char *p = name; *p; p++)
			if (*p == '<' || *p == '>')
				*p = '?';
		if (strcmp(name, v->author) != 0) {
			snprintf(v->why, v->len, "its author '%s' is not the "
				 "actor of its first transition, '%s'",
				 v->author, t->actor);
			return 1;
		}
	}
	if (repair_verb(t->verb))
		return 0;
	roles = roles_at(v, t);
	for (size_t i = 0; i < spool_nrows; i++) {
		const spool_row *r = &spool_rows[i];
		if (strcmp(r->verb, t->verb) != 0 ||
		    !(r->from & SPOOL_FROM(t->from.state)) ||
		    r->to != t->to.state)
			continue;
		row = true;
		if (r->who & roles)
			return 0;
	}
	if (!row)
		snprintf(v->why, v->len, "no row of the table makes '%s' of "
			 "'%s' from %s to %s", t->verb, t->id, from, to);
	else
		snprintf(v->why, v->len, "'%s' may not %s '%s' (%s -> %s)",
			 t->actor, t->verb, t->id, from, to);
	return 1;
}

/* ---- signatures -------------------------------------------------------- */

static int run_verify(const char *allowed, const char *sig,
		      const char *data)
{
	int status, in;
	pid_t pid;

	if ((in = open(data, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	if ((pid = fork()) < 0) {
		close(in);
		return -1;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		dup2(in, 0);
		if (null >= 0) {
			dup2(null, 1);
			dup2(null, 2);
		}
		execlp("ssh-keygen", "ssh-keygen", "-Y", "verify", "-f",
		       allowed, "-I", "spool@spool", "-n", "git", "-s", sig,
		       (char *)NULL);
		_exit(127);
	}
	close(in);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static int put(const char *path, const char *s, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int rc;

	if (fd < 0)
		return -1;
	rc = write(fd, s, n) == (ssize_t)n ? 0 : -1;
	close(fd);
	return rc;
}

/* 1 signed and good, 0 not signed, -1 signed and bad (why says). */
static int signature_of(struct vctx *v, const char *dir, const char *pub)
{
	git_buf sig = GIT_BUF_INIT, data = GIT_BUF_INIT;
	char allowed[PATH_MAX], sigp[PATH_MAX], datap[PATH_MAX];
	int rc;

	if (git_commit_extract_signature(&sig, &data, v->sp->repo,
				(git_oid *)git_commit_id(v->commit),
				NULL) < 0) {
		git_error_clear();
		return 0;
	}
	snprintf(allowed, sizeof(allowed), "%s/allowed", dir);
	snprintf(sigp, sizeof(sigp), "%s/sig", dir);
	snprintf(datap, sizeof(datap), "%s/data", dir);
	rc = -1;
	if (!pub)
		snprintf(v->why, v->len, "it is signed, and the config names "
			 "no signing key to check it with");
	else if (put(sigp, sig.ptr, sig.size) < 0 ||
		 put(datap, data.ptr, data.size) < 0)
		snprintf(v->why, v->len, "cannot write its signature to "
			 "check: %s", strerror(errno));
	else if (run_verify(allowed, sigp, datap) < 0)
		snprintf(v->why, v->len, "its signature is not the spool "
			 "key's (ssh-keygen -Y verify refuses it)");
	else
		rc = 1;
	git_buf_dispose(&sig);
	git_buf_dispose(&data);
	return rc;
}

/* The allowed-signers file for the key's .pub beside it, in dir. */
static const char *allowed_signers(char *pub, size_t len, spool *sp,
				   const char *dir)
{
	const char *key = spool_signing_key(sp);
	char path[PATH_MAX], line[8192];
	size_t n = 0;
	FILE *f;

	if (!key)
		return NULL;
	snprintf(path, sizeof(path), "%s.pub", key);
	if (!(f = fopen(path, "r")))
		return NULL;
	n = fread(line, 1, sizeof(line) - 1, f);
	fclose(f);
	line[n] = '\0';
	line[strcspn(line, "\n")] = '\0';
	snprintf(path, sizeof(path), "%s/allowed", dir);
	if (!(f = fopen(path, "w")))
		return NULL;
	fprintf(f, "spool@spool namespaces=\"git\" %s\n", line);
	fclose(f);
	snprintf(pub, len, "%s", key);
	return pub;
}

/* ---- the files --------------------------------------------------------- */

static int files_match(char *why, size_t len, spool *sp, git_tree *head)
{
	spool_entry *e = NULL;
	size_t n = 0;
	char path[PATH_MAX];
	int rc;

	if ((rc = spool_list(&e, &n, sp, SPOOL_STATE_NONE, NULL)) < 0)
		return rc;
	for (size_t i = 0; i < n && rc == 0; i++) {
		git_tree_entry *te = NULL;
		git_oid disk;
		char full[PATH_MAX];

		if (e[i].loc.state == SPOOL_STATE_NEW)
			continue;	/* not filed yet */
		spool_loc_path(path, sizeof(path), &e[i].loc, e[i].id);
		snprintf(full, sizeof(full), "%s/%s", spool_root(sp), path);
		if (git_tree_entry_bypath(&te, head, path) < 0) {
			git_error_clear();
			snprintf(why, len, "'%s' is on disk, not at HEAD", path);
			rc = 1;
		} else if (git_odb_hashfile(&disk, full, GIT_OBJECT_BLOB) < 0 ||
			   !git_oid_equal(&disk, git_tree_entry_id(te))) {
			git_error_clear();
			snprintf(why, len, "'%s' differs from HEAD's", path);
			rc = 1;
		}
		git_tree_entry_free(te);
	}
	free(e);
	return rc;
}

/* ---- the walk ---------------------------------------------------------- */

int spool_verify(spool_verify_result *out, spool *sp)
{
	char dir[PATH_MAX], pubbuf[PATH_MAX];
	const char *pub;
	git_repository *repo;
	git_revwalk *w = NULL;
	git_commit *c = NULL;
	git_tree *before = NULL, *tree = NULL;
	bool signing = false;
	git_oid id;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = spool_repo(&repo, sp)) < 0)
		return rc;
	snprintf(dir, sizeof(dir), "%s/.spool/run/verify.XXXXXX",
		 spool_root(sp));
	if (!mkdtemp(dir))
		return spool_error_sys(SPOOL_ERROR, "cannot make '%s'", dir);
	pub = allowed_signers(pubbuf, sizeof(pubbuf), sp, dir);
	if (git_revwalk_new(&w, sp->repo) < 0 ||
	    git_revwalk_sorting(w, GIT_SORT_TOPOLOGICAL | GIT_SORT_REVERSE) < 0 ||
	    git_revwalk_push_head(w) < 0) {
		rc = spool_error_git("cannot walk the history");
		goto out;
	}
	while (rc == 0 && git_revwalk_next(&id, w) == 0) {
		struct vctx v = { .sp = sp, .why = out->why,
				  .len = sizeof(out->why) };
		const git_signature *a;
		int s;

		if (git_commit_lookup(&c, sp->repo, &id) < 0 ||
		    git_commit_tree(&tree, c) < 0) {
			rc = spool_error_git("cannot read a commit");
			break;
		}
		out->commits++;
		git_oid_tostr(out->commit, sizeof(out->commit), &id);
		a = git_commit_author(c);
		v.commit = c;
		v.before = before;
		v.author = a && a->name ? a->name : "";
		s = signature_of(&v, dir, pub);
		if (s < 0 || (s == 0 && signing)) {
			if (s == 0)
				snprintf(out->why, sizeof(out->why), "it is "
					 "not signed, and the commits before "
					 "it are");
			out->bad = true;
		} else {
			signing |= s > 0;
			out->signed_commits += s > 0;
			out->bad = spool_trailer_foreach(git_commit_message(c),
							 NULL, check_one,
							 &v) != 0;
			out->transitions += spool_trailer_count(
				git_commit_message(c));
		}
		git_tree_free(before);
		before = tree;
		tree = NULL;
		git_commit_free(c);
		c = NULL;
		if (out->bad)
			goto out;
	}
	out->commit[0] = '\0';
	if (before && files_match(out->why, sizeof(out->why), sp, before) > 0)
		out->files_differ = out->bad = true;
out:
	{
		char p[PATH_MAX + 16];
		const char *names[] = { "allowed", "sig", "data" };
		for (size_t i = 0; i < 3; i++) {
			snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
			unlink(p);
		}
		rmdir(dir);
	}
	git_commit_free(c);
	git_tree_free(tree);
	git_tree_free(before);
	git_revwalk_free(w);
	return rc;
}
