/*
 * libarchive, loaded when first needed. Linking it pulls in a dozen
 * libraries (xml2, icu, nettle, compressors) that every spool command
 * would pay for at start-up, while only packs, exports and archives use
 * it. Include this instead of <archive.h>; call spool_larchive_load()
 * before the first archive_* call.
 */
#ifndef SPOOL_LARCHIVE_H
#define SPOOL_LARCHIVE_H

#include <archive.h>
#include <archive_entry.h>

#define SPOOL_LARCHIVE_FUNCS(X) \
	X(archive_entry_filetype) \
	X(archive_entry_free) \
	X(archive_entry_hardlink) \
	X(archive_entry_new) \
	X(archive_entry_pathname) \
	X(archive_entry_perm) \
	X(archive_entry_set_filetype) \
	X(archive_entry_set_gid) \
	X(archive_entry_set_mtime) \
	X(archive_entry_set_pathname) \
	X(archive_entry_set_perm) \
	X(archive_entry_set_size) \
	X(archive_entry_set_symlink) \
	X(archive_entry_set_uid) \
	X(archive_entry_size) \
	X(archive_entry_size_is_set) \
	X(archive_entry_symlink) \
	X(archive_error_string) \
	X(archive_filter_bytes) \
	X(archive_read_data) \
	X(archive_read_data_block) \
	X(archive_read_free) \
	X(archive_read_new) \
	X(archive_read_next_header) \
	X(archive_read_open_fd) \
	X(archive_read_open_filename) \
	X(archive_read_support_filter_bzip2) \
	X(archive_read_support_filter_gzip) \
	X(archive_read_support_filter_xz) \
	X(archive_read_support_filter_zstd) \
	X(archive_read_support_format_tar) \
	X(archive_read_support_format_zip) \
	X(archive_write_add_filter_gzip) \
	X(archive_write_close) \
	X(archive_write_data) \
	X(archive_write_data_block) \
	X(archive_write_disk_new) \
	X(archive_write_disk_set_options) \
	X(archive_write_finish_entry) \
	X(archive_write_free) \
	X(archive_write_header) \
	X(archive_write_new) \
	X(archive_write_open_fd) \
	X(archive_write_open_filename) \
	X(archive_write_open2) \
	X(archive_write_set_bytes_per_block) \
	X(archive_write_set_format_pax_restricted) \

struct spool_larchive {
#define X(f) __typeof__(f) *f;
	SPOOL_LARCHIVE_FUNCS(X)
#undef X
};

extern struct spool_larchive spool_larchive_fn;

/* 0, or SPOOL_ERROR saying what is missing. */
int spool_larchive_load(void);

#ifndef SPOOL_LARCHIVE_IMPL
#define archive_entry_filetype (spool_larchive_fn.archive_entry_filetype)
#define archive_entry_free (spool_larchive_fn.archive_entry_free)
#define archive_entry_hardlink (spool_larchive_fn.archive_entry_hardlink)
#define archive_entry_new (spool_larchive_fn.archive_entry_new)
#define archive_entry_pathname (spool_larchive_fn.archive_entry_pathname)
#define archive_entry_perm (spool_larchive_fn.archive_entry_perm)
#define archive_entry_set_filetype (spool_larchive_fn.archive_entry_set_filetype)
#define archive_entry_set_gid (spool_larchive_fn.archive_entry_set_gid)
#define archive_entry_set_mtime (spool_larchive_fn.archive_entry_set_mtime)
#define archive_entry_set_pathname (spool_larchive_fn.archive_entry_set_pathname)
#define archive_entry_set_perm (spool_larchive_fn.archive_entry_set_perm)
#define archive_entry_set_size (spool_larchive_fn.archive_entry_set_size)
#define archive_entry_set_symlink (spool_larchive_fn.archive_entry_set_symlink)
#define archive_entry_set_uid (spool_larchive_fn.archive_entry_set_uid)
#define archive_entry_size (spool_larchive_fn.archive_entry_size)
#define archive_entry_size_is_set (spool_larchive_fn.archive_entry_size_is_set)
#define archive_entry_symlink (spool_larchive_fn.archive_entry_symlink)
#define archive_error_string (spool_larchive_fn.archive_error_string)
#define archive_filter_bytes (spool_larchive_fn.archive_filter_bytes)
#define archive_read_data (spool_larchive_fn.archive_read_data)
#define archive_read_data_block (spool_larchive_fn.archive_read_data_block)
#define archive_read_free (spool_larchive_fn.archive_read_free)
#define archive_read_new (spool_larchive_fn.archive_read_new)
#define archive_read_next_header (spool_larchive_fn.archive_read_next_header)
#define archive_read_open_fd (spool_larchive_fn.archive_read_open_fd)
#define archive_read_open_filename (spool_larchive_fn.archive_read_open_filename)
#define archive_read_support_filter_bzip2 (spool_larchive_fn.archive_read_support_filter_bzip2)
#define archive_read_support_filter_gzip (spool_larchive_fn.archive_read_support_filter_gzip)
#define archive_read_support_filter_xz (spool_larchive_fn.archive_read_support_filter_xz)
#define archive_read_support_filter_zstd (spool_larchive_fn.archive_read_support_filter_zstd)
#define archive_read_support_format_tar (spool_larchive_fn.archive_read_support_format_tar)
#define archive_read_support_format_zip (spool_larchive_fn.archive_read_support_format_zip)
#define archive_write_add_filter_gzip (spool_larchive_fn.archive_write_add_filter_gzip)
#define archive_write_close (spool_larchive_fn.archive_write_close)
#define archive_write_data (spool_larchive_fn.archive_write_data)
#define archive_write_data_block (spool_larchive_fn.archive_write_data_block)
#define archive_write_disk_new (spool_larchive_fn.archive_write_disk_new)
#define archive_write_disk_set_options (spool_larchive_fn.archive_write_disk_set_options)
#define archive_write_finish_entry (spool_larchive_fn.archive_write_finish_entry)
#define archive_write_free (spool_larchive_fn.archive_write_free)
#define archive_write_header (spool_larchive_fn.archive_write_header)
#define archive_write_new (spool_larchive_fn.archive_write_new)
#define archive_write_open_fd (spool_larchive_fn.archive_write_open_fd)
#define archive_write_open_filename (spool_larchive_fn.archive_write_open_filename)
#define archive_write_open2 (spool_larchive_fn.archive_write_open2)
#define archive_write_set_bytes_per_block (spool_larchive_fn.archive_write_set_bytes_per_block)
#define archive_write_set_format_pax_restricted (spool_larchive_fn.archive_write_set_format_pax_restricted)
#endif

#endif
