/*
 * libgit2, loaded when the spool program first needs it.
 *
 * Loading libgit2 and the libraries it pulls in (TLS, SSH, Kerberos,
 * OpenSSL's libcrypto, PCRE) costs about 3 ms of symbol binding at every
 * start: more than a whole claim, which touches no git object while
 * spoold runs. So the spool program is not linked against libgit2; each
 * libgit2 function it uses is defined here, with libgit2's own prototype
 * (the compiler checks every one against <git2.h>), and forwards to the
 * real one, looked up on first call. spoold and the tests link libgit2
 * as usual.
 *
 * A function missing from this list fails the link of bin/spool with an
 * undefined reference: add one line below.
 */
#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include <git2.h>
#include <git2/sys/odb_backend.h>

#ifndef SPOOL_LIBGIT2_SONAME
#define SPOOL_LIBGIT2_SONAME "libgit2.so"
#endif

static void *git_lib;

/* The program's half of a library call cannot fail politely: without
 * libgit2 the spool cannot be used at all, so say what to install. */
static void *git_sym(const char *name)
{
	void *f;

	if (!git_lib && !(git_lib = dlopen(SPOOL_LIBGIT2_SONAME,
					   RTLD_NOW | RTLD_LOCAL))) {
		fprintf(stderr, "spool: cannot load libgit2: %s; install the "
			"libgit2 package spool was built with\n", dlerror());
		exit(1);
	}
	if (!(f = dlsym(git_lib, name))) {
		fprintf(stderr, "spool: '%s' lacks %s; install the libgit2 "
			"spool was built with\n", SPOOL_LIBGIT2_SONAME, name);
		exit(1);
	}
	return f;
}

#define FUNC(ret, name, params, args)                                       \
	ret name params                                                     \
	{                                                                   \
		static ret (*fn) params;                                    \
		if (!fn)                                                    \
			*(void **)&fn = git_sym(#name);                     \
		return fn args;                                             \
	}
#define PROC(name, params, args)                                            \
	void name params                                                    \
	{                                                                   \
		static void (*fn) params;                                   \
		if (!fn)                                                    \
			*(void **)&fn = git_sym(#name);                     \
		fn args;                                                    \
	}
/* Freeing NULL, as every command does on its way out, loads nothing. */
#define FREE(name, type)                                                    \
	void name(type *p)                                                  \
	{                                                                   \
		static void (*fn)(type *);                                  \
		if (!p)                                                     \
			return;                                             \
		if (!fn)                                                    \
			*(void **)&fn = git_sym(#name);                     \
		fn(p);                                                      \
	}

FUNC(int, git_blob_create_from_buffer,
     (git_oid *id, git_repository *repo, const void *buffer, size_t len),
     (id, repo, buffer, len))
FUNC(int, git_blob_create_from_disk,
     (git_oid *id, git_repository *repo, const char *path),
     (id, repo, path))
FREE(git_blob_free, git_blob)
FUNC(int, git_blob_lookup,
     (git_blob **blob, git_repository *repo, const git_oid *id),
     (blob, repo, id))
FUNC(const void *, git_blob_rawcontent, (const git_blob *blob), (blob))
FUNC(git_object_size_t, git_blob_rawsize, (const git_blob *blob), (blob))
FUNC(const git_signature *, git_commit_author,
     (const git_commit *commit),
     (commit))
FUNC(int, git_commit_create,
     (git_oid *id, git_repository *repo, const char *update_ref,
      const git_signature *author, const git_signature *committer,
      const char *message_encoding, const char *message, const git_tree *tree,
      size_t parent_count, const git_commit *parents[]),
     (id, repo, update_ref, author, committer, message_encoding, message, tree,
      parent_count, parents))
FUNC(int, git_commit_create_buffer,
     (git_buf *out, git_repository *repo, const git_signature *author,
      const git_signature *committer, const char *message_encoding,
      const char *message, const git_tree *tree, size_t parent_count,
      const git_commit *parents[]),
     (out, repo, author, committer, message_encoding, message, tree,
      parent_count, parents))
FUNC(int, git_commit_create_with_signature,
     (git_oid *out, git_repository *repo, const char *commit_content,
      const char *signature, const char *signature_field),
     (out, repo, commit_content, signature, signature_field))
FUNC(int, git_commit_extract_signature,
     (git_buf *signature, git_buf *signed_data, git_repository *repo,
      git_oid *commit_id, const char *field),
     (signature, signed_data, repo, commit_id, field))
FREE(git_commit_free, git_commit)
FUNC(const git_oid *, git_commit_id, (const git_commit *commit), (commit))
FUNC(int, git_commit_lookup,
     (git_commit **commit, git_repository *repo, const git_oid *id),
     (commit, repo, id))
FUNC(const char *, git_commit_message, (const git_commit *commit), (commit))
FUNC(const git_oid *, git_commit_parent_id,
     (const git_commit *commit, unsigned int n),
     (commit, n))
FUNC(unsigned int, git_commit_parentcount,
     (const git_commit *commit),
     (commit))
FUNC(const char *, git_commit_summary, (git_commit *commit), (commit))
FUNC(git_time_t, git_commit_time, (const git_commit *commit), (commit))
FUNC(int, git_commit_time_offset, (const git_commit *commit), (commit))
FUNC(int, git_commit_tree,
     (git_tree **tree_out, const git_commit *commit),
     (tree_out, commit))
PROC(git_buf_dispose, (git_buf *buffer), (buffer))
PROC(git_error_clear, (void), ())
FUNC(const git_error *, git_error_last, (void), ())
FUNC(int, git_error_set_str, (int error_class, const char *string),
     (error_class, string))
FUNC(int, git_graph_descendant_of,
     (git_repository *repo, const git_oid *commit, const git_oid *ancestor),
     (repo, commit, ancestor))
FREE(git_index_free, git_index)
FUNC(int, git_index_open, (git_index **out, const char *index_path),
     (out, index_path))
FUNC(int, git_index_read_tree,
     (git_index *index, const git_tree *tree),
     (index, tree))
FUNC(int, git_index_write, (git_index *index), (index))
FUNC(int, git_libgit2_init, (void), ())
FUNC(int, git_message_trailers,
     (git_message_trailer_array *arr, const char *message), (arr, message))
PROC(git_message_trailer_array_free, (git_message_trailer_array *arr), (arr))
FREE(git_object_free, git_object)
FUNC(const git_oid *, git_object_id, (const git_object *obj), (obj))
FUNC(int, git_object_lookup,
     (git_object **object, git_repository *repo, const git_oid *id,
      git_object_t type),
     (object, repo, id, type))
FUNC(int, git_object_peel,
     (git_object **peeled, const git_object *object, git_object_t target_type),
     (peeled, object, target_type))
FUNC(const char *, git_object_type2string, (git_object_t type), (type))
FUNC(git_object_t, git_object_type, (const git_object *obj), (obj))
FUNC(int, git_odb_add_backend,
     (git_odb *odb, git_odb_backend *backend, int priority),
     (odb, backend, priority))
FUNC(int, git_odb_exists_ext,
     (git_odb *db, const git_oid *id, unsigned int flags), (db, id, flags))
FREE(git_odb_free, git_odb)
FUNC(int, git_odb_hash,
     (git_oid *out, const void *data, size_t len, git_object_t type),
     (out, data, len, type))
FUNC(int, git_odb_hashfile,
     (git_oid *out, const char *path, git_object_t type),
     (out, path, type))
FUNC(int, git_odb_init_backend,
     (git_odb_backend *backend, unsigned int version),
     (backend, version))
FUNC(int, git_odb_new, (git_odb **odb), (odb))
FUNC(int, git_odb_refresh, (struct git_odb *db), (db))
FUNC(int, git_odb_write,
     (git_oid *out, git_odb *odb, const void *data, size_t len,
      git_object_t type),
     (out, odb, data, len, type))
FUNC(int, git_odb_write_pack,
     (git_odb_writepack **out, git_odb *db,
      git_indexer_progress_cb progress_cb, void *progress_payload),
     (out, db, progress_cb, progress_payload))
FUNC(int, git_oid_cmp, (const git_oid *a, const git_oid *b), (a, b))
FUNC(int, git_oid_cpy, (git_oid *out, const git_oid *src), (out, src))
FUNC(int, git_oid_equal, (const git_oid *a, const git_oid *b), (a, b))
FUNC(int, git_oid_fromstr, (git_oid *out, const char *str), (out, str))
FUNC(int, git_oid_fromstrn,
     (git_oid *out, const char *str, size_t length),
     (out, str, length))
FUNC(int, git_oid_is_zero, (const git_oid *id), (id))
FUNC(char *, git_oid_tostr,
     (char *out, size_t n, const git_oid *id),
     (out, n, id))
FUNC(int, git_reference_create,
     (git_reference **out, git_repository *repo, const char *name,
      const git_oid *id, int force, const char *log_message),
     (out, repo, name, id, force, log_message))
FUNC(int, git_reference_create_matching,
     (git_reference **out, git_repository *repo, const char *name,
      const git_oid *id, int force, const git_oid *current_id,
      const char *log_message),
     (out, repo, name, id, force, current_id, log_message))
FREE(git_reference_free, git_reference)
FUNC(int, git_reference_lookup,
     (git_reference **out, git_repository *repo, const char *name),
     (out, repo, name))
FUNC(int, git_reference_name_to_id,
     (git_oid *out, git_repository *repo, const char *name),
     (out, repo, name))
FUNC(const char *, git_reference_symbolic_target,
     (const git_reference *ref),
     (ref))
FUNC(git_reference_t, git_reference_type, (const git_reference *ref), (ref))
FREE(git_repository_free, git_repository)
FUNC(int, git_repository_index,
     (git_index **out, git_repository *repo),
     (out, repo))
FUNC(int, git_repository_init_ext,
     (git_repository **out, const char *repo_path,
      git_repository_init_options *opts),
     (out, repo_path, opts))
FUNC(int, git_repository_init_options_init,
     (git_repository_init_options *opts, unsigned int version),
     (opts, version))
FUNC(int, git_repository_odb,
     (git_odb **out, git_repository *repo),
     (out, repo))
FUNC(int, git_repository_open_ext,
     (git_repository **out, const char *path, unsigned int flags,
      const char *ceiling_dirs),
     (out, path, flags, ceiling_dirs))
FUNC(const char *, git_repository_path, (const git_repository *repo), (repo))
FUNC(int, git_revparse_single,
     (git_object **out, git_repository *repo, const char *spec),
     (out, repo, spec))
FREE(git_revwalk_free, git_revwalk)
FUNC(int, git_revwalk_hide,
     (git_revwalk *walk, const git_oid *commit_id),
     (walk, commit_id))
FUNC(int, git_revwalk_new,
     (git_revwalk **out, git_repository *repo),
     (out, repo))
FUNC(int, git_revwalk_next, (git_oid *out, git_revwalk *walk), (out, walk))
FUNC(int, git_revwalk_push, (git_revwalk *walk, const git_oid *id), (walk, id))
FUNC(int, git_revwalk_push_head, (git_revwalk *walk), (walk))
FUNC(int, git_revwalk_sorting,
     (git_revwalk *walk, unsigned int sort_mode),
     (walk, sort_mode))
FREE(git_signature_free, git_signature)
FUNC(int, git_signature_now,
     (git_signature **out, const char *name, const char *email),
     (out, name, email))
FUNC(int, git_tree_create_updated,
     (git_oid *out, git_repository *repo, git_tree *baseline, size_t nupdates,
      const git_tree_update *updates),
     (out, repo, baseline, nupdates, updates))
FUNC(const git_tree_entry *, git_tree_entry_byindex,
     (const git_tree *tree, size_t idx),
     (tree, idx))
FUNC(const git_tree_entry *, git_tree_entry_byname,
     (const git_tree *tree, const char *filename),
     (tree, filename))
FUNC(int, git_tree_entry_bypath,
     (git_tree_entry **out, const git_tree *root, const char *path),
     (out, root, path))
FUNC(git_filemode_t, git_tree_entry_filemode,
     (const git_tree_entry *entry),
     (entry))
FUNC(git_filemode_t, git_tree_entry_filemode_raw,
     (const git_tree_entry *entry),
     (entry))
FREE(git_tree_entry_free, git_tree_entry)
FUNC(const git_oid *, git_tree_entry_id,
     (const git_tree_entry *entry),
     (entry))
FUNC(const char *, git_tree_entry_name, (const git_tree_entry *entry), (entry))
FUNC(git_object_t, git_tree_entry_type, (const git_tree_entry *entry), (entry))
FUNC(size_t, git_tree_entrycount, (const git_tree *tree), (tree))
FREE(git_tree_free, git_tree)
FUNC(const git_oid *, git_tree_id, (const git_tree *tree), (tree))
FUNC(int, git_tree_lookup,
     (git_tree **out, git_repository *repo, const git_oid *id),
     (out, repo, id))
FREE(git_treebuilder_free, git_treebuilder)
FUNC(int, git_treebuilder_new,
     (git_treebuilder **out, git_repository *repo, const git_tree *source),
     (out, repo, source))
FUNC(int, git_treebuilder_write,
     (git_oid *id, git_treebuilder *bld),
     (id, bld))

/*
 * The one variadic function: forward the options spool sets, by the
 * types libgit2 reads them with.
 */
int git_libgit2_opts(int option, ...)
{
	static int (*fn)(int, ...);
	va_list ap;
	int rc;

	if (!fn)
		*(void **)&fn = git_sym("git_libgit2_opts");
	va_start(ap, option);
	switch (option) {
	case GIT_OPT_SET_CACHE_OBJECT_LIMIT: {
		int type = va_arg(ap, int);
		rc = fn(option, type, va_arg(ap, size_t));
		break;
	}
	case GIT_OPT_SET_CACHE_MAX_SIZE:
		rc = fn(option, va_arg(ap, ssize_t));
		break;
	case GIT_OPT_SET_MWINDOW_SIZE:
	case GIT_OPT_SET_MWINDOW_MAPPED_LIMIT:
	case GIT_OPT_SET_MWINDOW_FILE_LIMIT:
		rc = fn(option, va_arg(ap, size_t));
		break;
	case GIT_OPT_ENABLE_CACHING:
	case GIT_OPT_ENABLE_STRICT_OBJECT_CREATION:
	case GIT_OPT_ENABLE_STRICT_SYMBOLIC_REF_CREATION:
	case GIT_OPT_ENABLE_OFS_DELTA:
	case GIT_OPT_ENABLE_FSYNC_GITDIR:
	case GIT_OPT_ENABLE_STRICT_HASH_VERIFICATION:
	case GIT_OPT_SET_OWNER_VALIDATION:
		rc = fn(option, va_arg(ap, int));
		break;
	default:
		fprintf(stderr, "spool: internal error: libgit2 option %d is "
			"not forwarded (src/git-load.c)\n", option);
		abort();
	}
	va_end(ap);
	return rc;
}
