/*
 * Crafts hostile ext4 images for the --volume tests: takes an image that
 * mkfs.ext4 -d made and applies edits no kernel would write, through
 * libext2fs so that checksums stay valid and only the attack is wrong.
 *
 *   mkevil IMAGE EDIT...
 *     rename DIR OLD NEW     the entry OLD in DIR is now named NEW (may hold '/')
 *     relink DIR NAME PATH   the entry NAME in DIR now points at PATH's inode
 *     size PATH BYTES        PATH's i_size (e.g. 17592186044416 for 16 TiB)
 *     mode PATH OCTAL        PATH's whole i_mode, type bits included
 *     links PATH N           PATH's link count
 * Paths are inside the image, from its root ("/" is the root).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ext2fs/ext2fs.h>

static ext2_filsys fs;

static void die(const char *what, errcode_t err)
{
	fprintf(stderr, "mkevil: %s: libext2fs error %ld\n", what, (long)err);
	exit(1);
}

static ext2_ino_t lookup(const char *path)
{
	ext2_ino_t ino;
	errcode_t err;

	if (!strcmp(path, "/"))
		return EXT2_ROOT_INO;
	err = ext2fs_namei(fs, EXT2_ROOT_INO, EXT2_ROOT_INO, path[0] == '/' ? path + 1 : path,
			   &ino);
	if (err)
		die(path, err);
	return ino;
}

struct edit {
	const char *old;
	const char *new_name;
	ext2_ino_t new_ino;
	int done;
};

static int edit_entry(struct ext2_dir_entry *de, int offset, int blocksize, char *buf,
		      void *priv)
{
	struct edit *e = priv;
	size_t len = (size_t)ext2fs_dirent_name_len(de);

	(void)offset;
	(void)blocksize;
	(void)buf;
	if (!de->inode || len != strlen(e->old) || memcmp(de->name, e->old, len))
		return 0;
	if (e->new_name) {
		size_t n = strlen(e->new_name);

		if (n + 8 > de->rec_len) {
			fprintf(stderr, "mkevil: %s: the new name needs a longer old one\n", e->old);
			exit(1);
		}
		memcpy(de->name, e->new_name, n);
		ext2fs_dirent_set_name_len(de, (int)n);
	}
	if (e->new_ino)
		de->inode = e->new_ino;
	e->done = 1;
	return DIRENT_CHANGED | DIRENT_ABORT;
}

static void edit_dir(const char *dir, struct edit *e)
{
	errcode_t err = ext2fs_dir_iterate(fs, lookup(dir), 0, NULL, edit_entry, e);

	if (err)
		die(dir, err);
	if (!e->done) {
		fprintf(stderr, "mkevil: no entry %s in %s\n", e->old, dir);
		exit(1);
	}
}

static void edit_inode(const char *path, const char *field, unsigned long long v)
{
	ext2_ino_t ino = lookup(path);
	struct ext2_inode inode;
	errcode_t err;

	err = ext2fs_read_inode(fs, ino, &inode);
	if (err)
		die(path, err);
	if (!strcmp(field, "size")) {
		inode.i_size = (__u32)v;
		inode.i_size_high = (__u32)(v >> 32);
	} else if (!strcmp(field, "mode")) {
		inode.i_mode = (__u16)v;
	} else {
		inode.i_links_count = (__u16)v;
	}
	err = ext2fs_write_inode(fs, ino, &inode);
	if (err)
		die(path, err);
}

int main(int argc, char **argv)
{
	errcode_t err;
	int i;

	if (argc < 3) {
		fprintf(stderr, "usage: mkevil IMAGE EDIT...\n");
		return 2;
	}
	err = ext2fs_open(argv[1], EXT2_FLAG_RW | EXT2_FLAG_64BITS, 0, 0, unix_io_manager, &fs);
	if (err)
		die(argv[1], err);
	for (i = 2; i < argc;) {
		const char *op = argv[i];

		if (!strcmp(op, "rename") && i + 3 < argc) {
			struct edit e = { .old = argv[i + 2], .new_name = argv[i + 3] };

			edit_dir(argv[i + 1], &e);
			i += 4;
		} else if (!strcmp(op, "relink") && i + 3 < argc) {
			struct edit e = { .old = argv[i + 2], .new_ino = lookup(argv[i + 3]) };

			edit_dir(argv[i + 1], &e);
			i += 4;
		} else if ((!strcmp(op, "size") || !strcmp(op, "links")) && i + 2 < argc) {
			edit_inode(argv[i + 1], op, strtoull(argv[i + 2], NULL, 0));
			i += 3;
		} else if (!strcmp(op, "mode") && i + 2 < argc) {
			edit_inode(argv[i + 1], op, strtoull(argv[i + 2], NULL, 8));
			i += 3;
		} else {
			fprintf(stderr, "mkevil: bad edit '%s'\n", op);
			return 2;
		}
	}
	err = ext2fs_close_free(&fs);
	if (err)
		die("close", err);
	return 0;
}
