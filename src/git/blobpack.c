/*
 * Blobs stored as one pack. Filing ten thousand tasks stages ten thousand
 * new blobs in one commit; loose, each is a file created, written and
 * renamed into one of 256 directories, which costs about as much as
 * everything else filing does. A pack is two files (the pack and its
 * index) whatever the count.
 *
 * The pack stream is the plain format git documents (a header, each
 * object deflated after its type and size, the SHA-1 of it all), without
 * deltas: the packer (gitpack.c) makes those later, in the background.
 * libgit2's indexer reads it, checks every object and the checksum,
 * writes the index and moves both into objects/pack/.
 *
 * SHA-1 comes from GNU Nettle, loaded when first needed: linked, it
 * would cost every spool command's start for what only big commits use.
 */
#include <arpa/inet.h>
#include <dlfcn.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include <nettle/sha1.h>

#include "error.h"
#include "blobpack.h"
#include "repo.h"

#ifndef SPOOL_NETTLE_SONAME
#define SPOOL_NETTLE_SONAME "libnettle.so.8"
#endif
/* What a commit keeps in memory, past which a blob is stored at once:
 * ten thousand task files take about 2 MB, and a submission of many
 * big deliverables must not grow spoold by more than a little. */
#define BLOB_MAX (64 * 1024)
#define QUEUE_MAX (16 * 1024 * 1024)
#define PACK_BLOB 3		/* the object type in a pack entry */
/* Fewer blobs than this are written loose: a pack is two files. */
#define PACK_MIN 64

struct blob {
	git_oid id;
	unsigned char *data;
	size_t len;
	char *path;		/* for a message */
};

struct spool_blobq {
	struct blob *v;
	size_t n, cap, bytes;
};

struct buf {
	unsigned char *p;
	size_t len, cap;
};

/* Typed by the header built against: a Nettle whose prototypes differ
 * fails the build, not the call. */
static struct {
	__typeof__(&nettle_sha1_init) init;
	__typeof__(&nettle_sha1_update) update;
	__typeof__(&nettle_sha1_digest) digest;
} sha1;

static int sha1_load(void)
{
	void *h;

	if (sha1.digest)
		return 0;
	if (!(h = dlopen(SPOOL_NETTLE_SONAME, RTLD_NOW | RTLD_LOCAL)))
		return spool_error_set(SPOOL_ERROR, "cannot load %s: %s; "
				       "install libnettle8", SPOOL_NETTLE_SONAME,
				       dlerror());
	*(void **)&sha1.init = dlsym(h, "nettle_sha1_init");
	*(void **)&sha1.update = dlsym(h, "nettle_sha1_update");
	*(void **)&sha1.digest = dlsym(h, "nettle_sha1_digest");
	if (!sha1.init || !sha1.update || !sha1.digest) {
		sha1.digest = NULL;
		return spool_error_set(SPOOL_ERROR, "%s lacks SHA-1; install "
				       "libnettle8", SPOOL_NETTLE_SONAME);
	}
	return 0;
}

static int grow(spool_blobq **qp)
{
	spool_blobq *q = *qp;
	struct blob *v;
	size_t cap;

	if (!q && !(q = *qp = calloc(1, sizeof(*q))))
		return spool_error_set(SPOOL_ERROR, "out of memory");
	if (q->n < q->cap)
		return 0;
	cap = q->cap ? q->cap * 2 : 64;
	if (!(v = realloc(q->v, cap * sizeof(*v))))
		return spool_error_set(SPOOL_ERROR, "out of memory");
	q->v = v;
	q->cap = cap;
	return 0;
}

int spool_blobq_add(git_oid *out, spool_blobq **qp, spool *sp,
		    const void *buf, size_t len, const char *path)
{
	struct blob *b;
	int rc;

	if (len > BLOB_MAX || (*qp && (*qp)->bytes + len > QUEUE_MAX))
		return 1;
	if (git_odb_hash(out, buf, len, GIT_OBJECT_BLOB) < 0)
		return spool_error_git("cannot store '%s'", path);
	if (spool_blob_stored(sp, out))
		return 0;
	if ((rc = grow(qp)) < 0)
		return rc;
	b = &(*qp)->v[(*qp)->n];
	b->id = *out;
	b->len = len;
	b->data = malloc(len ? len : 1);
	b->path = strdup(path);
	if (!b->data || !b->path) {
		free(b->data);
		free(b->path);
		return spool_error_set(SPOOL_ERROR, "out of memory");
	}
	memcpy(b->data, buf, len);
	(*qp)->n++;
	(*qp)->bytes += len;
	return 0;
}

static int reserve(struct buf *b, size_t more)
{
	size_t cap = b->cap ? b->cap : 4096;
	unsigned char *p;

	if (b->len + more <= b->cap)
		return 0;
	while (cap < b->len + more)
		cap *= 2;
	if (!(p = realloc(b->p, cap)))
		return spool_error_set(SPOOL_ERROR, "out of memory");
	b->p = p;
	b->cap = cap;
	return 0;
}

/* The entry's header: its type, then its size, seven bits at a time. */
static void entry_header(struct buf *b, size_t size)
{
	unsigned char c = (unsigned char)(PACK_BLOB << 4 | (size & 15));

	for (size >>= 4; size; size >>= 7) {
		b->p[b->len++] = c | 0x80;
		c = size & 0x7f;
	}
	b->p[b->len++] = c;
}

static int entry(struct buf *b, z_stream *z, const struct blob *o)
{
	size_t bound = deflateBound(z, o->len);
	int rc;

	if ((rc = reserve(b, 16 + bound)) < 0)
		return rc;
	entry_header(b, o->len);
	deflateReset(z);
	z->next_in = o->data;
	z->avail_in = (uInt)o->len;
	z->next_out = b->p + b->len;
	z->avail_out = (uInt)bound;
	if (deflate(z, Z_FINISH) != Z_STREAM_END)
		return spool_error_set(SPOOL_ERROR, "cannot compress a blob");
	b->len += bound - z->avail_out;
	return 0;
}

static int cmp_blob(const void *a, const void *b)
{
	return git_oid_cmp(&((const struct blob *)a)->id,
			   &((const struct blob *)b)->id);
}

/* The pack stream of q's blobs, each once (sorted by id). */
static int stream(struct buf *b, spool_blobq *q)
{
	struct sha1_ctx ctx;
	uint32_t hdr[3];
	size_t n = 0;
	z_stream z;
	int rc;

	qsort(q->v, q->n, sizeof(*q->v), cmp_blob);
	for (size_t i = 0; i < q->n; i++)
		n += i == 0 || !git_oid_equal(&q->v[i].id, &q->v[i - 1].id);
	memset(&z, 0, sizeof(z));
	if (deflateInit(&z, Z_BEST_SPEED) != Z_OK)
		return spool_error_set(SPOOL_ERROR, "cannot start zlib");
	if ((rc = reserve(b, sizeof(hdr))) < 0)
		goto out;
	memcpy(hdr, "PACK", 4);
	hdr[1] = htonl(2);
	hdr[2] = htonl((uint32_t)n);
	memcpy(b->p, hdr, sizeof(hdr));
	b->len = sizeof(hdr);
	for (size_t i = 0; i < q->n && rc == 0; i++)
		if (i == 0 || !git_oid_equal(&q->v[i].id, &q->v[i - 1].id))
			rc = entry(b, &z, &q->v[i]);
	if (rc == 0 && (rc = reserve(b, SHA1_DIGEST_SIZE)) == 0) {
		sha1.init(&ctx);
		sha1.update(&ctx, b->len, b->p);
		sha1.digest(&ctx, SHA1_DIGEST_SIZE, b->p + b->len);
		b->len += SHA1_DIGEST_SIZE;
	}
out:
	deflateEnd(&z);
	return rc;
}

static int write_pack(spool *sp, const struct buf *b)
{
	git_repository *repo;
	git_odb_writepack *wp = NULL;
	git_indexer_progress stats;
	git_odb *odb = NULL;
	int rc = 0;

	memset(&stats, 0, sizeof(stats));
	if ((rc = spool_repo(&repo, sp)) < 0)
		return rc;
	if (git_repository_odb(&odb, repo) < 0 ||
	    git_odb_write_pack(&wp, odb, NULL, NULL) < 0 ||
	    wp->append(wp, b->p, b->len, &stats) < 0 ||
	    wp->commit(wp, &stats) < 0)
		rc = spool_error_git("cannot write a pack of new blobs");
	/* The commit's trees name them next: seen at once, not on a miss. */
	else if (git_odb_refresh(odb) < 0)
		rc = spool_error_git("cannot read the new pack");
	if (wp)
		wp->free(wp);
	git_odb_free(odb);
	return rc;
}

static int write_loose(spool_blobq *q, spool *sp)
{
	git_oid id;
	int rc = 0;

	for (size_t i = 0; i < q->n && rc == 0; i++)
		rc = spool_blob_store(&id, sp, q->v[i].data, q->v[i].len,
				      q->v[i].path);
	return rc;
}

static void clear(spool_blobq *q)
{
	for (size_t i = 0; i < q->n; i++) {
		free(q->v[i].data);
		free(q->v[i].path);
	}
	q->n = q->bytes = 0;
}

int spool_blobq_flush(spool_blobq *q, spool *sp)
{
	struct buf b = { 0 };
	int rc;

	if (!q || q->n == 0)
		return 0;
	if (q->n < PACK_MIN)
		rc = write_loose(q, sp);
	else if ((rc = sha1_load()) == 0 && (rc = stream(&b, q)) == 0)
		rc = write_pack(sp, &b);
	free(b.p);
	clear(q);
	return rc;
}

void spool_blobq_free(spool_blobq *q)
{
	if (!q)
		return;
	clear(q);
	free(q->v);
	free(q);
}
