/*
 * Power-cut shim for the Weir power-cut test (test/powercut/powercut.test.ts). Loaded with
 * LD_PRELOAD into Weir, it keeps a "durable image" of one data directory: what a disk would hold
 * after a power cut, as opposed to what the page cache holds (which a SIGKILL keeps).
 *
 *   WEIR_POWERCUT_DIR     the data directory to watch (absolute)
 *   WEIR_POWERCUT_FSYNC_DELAY_US  optional: how long each flush (fsync/fdatasync, O_DSYNC write)
 *                         takes, as on a gateway's SD card (milliseconds) rather than on a disk
 *                         with a write cache (~0.1 ms): the window between "written" and
 *                         "durable" is then long enough for a cut to land in it
 *   WEIR_POWERCUT_SHADOW  an empty directory where the image is kept:
 *     f<ino>.<gen>   each file's content as of its last fsync/fdatasync (plus O_DSYNC writes)
 *     manifest       "name\tshadow-file" per entry of the watched dir, as of its last fsync
 *     unmodelled.log calls that change durability in ways this shim does not model (msync, sync)
 *
 * How: write/pwrite/writev/pwritev/pwritev2/ftruncate/fallocate on a file under the watched dir
 * mark byte ranges dirty, per inode (LMDB opens data.mdb twice: a plain fd for pages, an O_DSYNC
 * fd for the meta page). fsync/fdatasync reads the dirty ranges back from the file *before*
 * calling the real fsync, and copies them into the shadow file only once it has returned: a
 * SIGKILL during the fsync leaves the shadow as it was, as a power cut may. A write on an O_DSYNC
 * fd (or with RWF_DSYNC) is durable when it returns. A directory's entries are read with readdir
 * when the directory is fsynced, so creates, renames and unlinks count only after that fsync.
 * Not modelled: subdirectories of the watched dir, writes through shared mappings (msync is
 * logged), sync/syncfs (logged), fcntl(F_DUPFD), stdio (fopen/fwrite), copy_file_range/sendfile
 * into watched files. lmdb-js and Weir use none of them on the data dir (lock.mdb, LMDB's shared
 * reader table, is mapped but never synced, and LMDB rebuilds it).
 *
 * Build: gcc -shared -fPIC -O2 -o shim.so shim.c -ldl -lpthread
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

/* The real functions, looked up lazily: a library constructor may call us before ours runs. */
static void *resolve(void **slot, const char *name) {
  void *p = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
  if (p == NULL) __atomic_store_n(slot, p = dlsym(RTLD_NEXT, name), __ATOMIC_RELEASE);
  return p;
}
#define REAL(name) ((__typeof__(real_##name))resolve((void **)&real_##name, #name))
static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_pwrite)(int, const void *, size_t, off_t);
static ssize_t (*real_pwrite64)(int, const void *, size_t, off_t);
static ssize_t (*real_writev)(int, const struct iovec *, int);
static ssize_t (*real_pwritev)(int, const struct iovec *, int, off_t);
static ssize_t (*real_pwritev64)(int, const struct iovec *, int, off_t);
static ssize_t (*real_pwritev2)(int, const struct iovec *, int, off_t, int);
static ssize_t (*real_pwritev64v2)(int, const struct iovec *, int, off_t, int);
static ssize_t (*real_pread)(int, void *, size_t, off_t);
static off_t (*real_lseek)(int, off_t, int);
static int (*real_ftruncate)(int, off_t);
static int (*real_ftruncate64)(int, off_t);
static int (*real_fallocate)(int, int, off_t, off_t);
static int (*real_fallocate64)(int, int, off_t, off_t);
static int (*real_fsync)(int);
static int (*real_fdatasync)(int);
static int (*real_msync)(void *, size_t, int);
static void (*real_sync)(void);
static int (*real_syncfs)(int);
static int (*real_open)(const char *, int, ...);
static int (*real_open64)(const char *, int, ...);
static int (*real_openat)(int, const char *, int, ...);
static int (*real_openat64)(int, const char *, int, ...);
static int (*real_close)(int);
static int (*real_dup)(int);
static int (*real_dup2)(int, int);
static int (*real_dup3)(int, int, int);
static int (*real_rename)(const char *, const char *);

static int enabled;
static char watch_dir[PATH_MAX];
static size_t watch_len;
static char shadow_dir[PATH_MAX];
static struct timespec flush_delay;
/* One lock for all state: LMDB writes and syncs from several threads (libuv pool, its own). */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

struct range { off_t start, end; };
struct item { off_t start, end; char *data; };
/* A file's content read at fsync entry; it lands in the shadow once an fsync of seq >= it returns. */
struct pending {
  uint64_t seq;
  off_t size;
  struct item *items;
  size_t n_items;
  struct pending *next;
};
struct file {
  dev_t dev;
  ino_t ino;
  int dead;          /* the inode was freed and its number reused: kept only for the manifest */
  int shadow_fd;
  char shadow_name[64];
  struct range *dirty;
  size_t n_dirty, cap_dirty;
  uint64_t next_seq;
  struct pending *pending; /* oldest first */
};
static struct file **files;
static size_t n_files;

/* Per fd: which file (index + 1, 0 = not watched), or the watched dir; O_DSYNC. */
#define MAX_FD 65536
enum { FD_NONE = 0, FD_FILE = 1, FD_DIR = 2 };
static struct { int kind, file, dsync; } fds[MAX_FD];

static int fd_kind(int fd) { return fd >= 0 && fd < MAX_FD ? __atomic_load_n(&fds[fd].kind, __ATOMIC_ACQUIRE) : FD_NONE; }

static void die(const char *what) {
  char msg[512];
  int n = snprintf(msg, sizeof msg, "powercut shim: %s: %s\n", what, strerror(errno));
  REAL(write)(2, msg, (size_t)n);
  abort();
}

static void note_unmodelled(const char *fmt, ...) {
  char path[PATH_MAX], line[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  snprintf(path, sizeof path, "%s/unmodelled.log", shadow_dir);
  int fd = REAL(open)(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return;
  REAL(write)(fd, line, (size_t)n);
  REAL(close)(fd);
}

/* The device at work on a flush; a SIGKILL now finds it not done. */
static void flush_latency(void) {
  struct timespec left = flush_delay;
  while (left.tv_sec != 0 || left.tv_nsec != 0) {
    if (nanosleep(&left, &left) == 0) break;
    if (errno != EINTR) break;
  }
}

static void pwrite_all(int fd, const char *buf, size_t len, off_t off) {
  while (len > 0) {
    ssize_t r = REAL(pwrite)(fd, buf, len, off);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) die("writing the shadow");
    buf += r, len -= (size_t)r, off += r;
  }
}

/* Reads up to `len` bytes at `off`; short only at end of file. */
static size_t pread_all(int fd, char *buf, size_t len, off_t off) {
  size_t got = 0;
  while (got < len) {
    ssize_t r = REAL(pread)(fd, buf + got, len - got, off + (off_t)got);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) die("reading a watched file");
    if (r == 0) break;
    got += (size_t)r;
  }
  return got;
}

/* A file seen for the first time. `src_fd` >= 0: its current content is the durable baseline
 * (it existed before this process); -1: it was created now, so nothing of it is durable yet. */
static struct file *new_file(const struct stat *st, int src_fd) {
  static unsigned gen;
  struct file *f = calloc(1, sizeof *f);
  if (f == NULL) die("calloc");
  f->dev = st->st_dev;
  f->ino = st->st_ino;
  f->next_seq = 1;
  snprintf(f->shadow_name, sizeof f->shadow_name, "f%lu.%u", (unsigned long)st->st_ino, gen++);
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/%s", shadow_dir, f->shadow_name);
  f->shadow_fd = REAL(open)(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (f->shadow_fd < 0) die("creating a shadow file");
  if (src_fd >= 0) {
    char buf[1 << 16];
    off_t off = 0;
    size_t got;
    while ((got = pread_all(src_fd, buf, sizeof buf, off)) > 0) pwrite_all(f->shadow_fd, buf, got, off), off += (off_t)got;
  }
  struct file **grown = realloc(files, (n_files + 1) * sizeof *files);
  if (grown == NULL) die("realloc");
  files = grown;
  files[n_files++] = f;
  return f;
}

static struct file *find_file(dev_t dev, ino_t ino) {
  for (size_t i = 0; i < n_files; i++)
    if (!files[i]->dead && files[i]->dev == dev && files[i]->ino == ino) return files[i];
  return NULL;
}

static int file_index(struct file *f) {
  for (size_t i = 0; i < n_files; i++)
    if (files[i] == f) return (int)i;
  return -1;
}

static void add_dirty(struct file *f, off_t start, off_t end) {
  if (end <= start) return;
  /* Sequential writes extend the last range; everything else is merged at fsync. */
  if (f->n_dirty > 0 && f->dirty[f->n_dirty - 1].end >= start && f->dirty[f->n_dirty - 1].start <= end) {
    struct range *last = &f->dirty[f->n_dirty - 1];
    if (start < last->start) last->start = start;
    if (end > last->end) last->end = end;
    return;
  }
  if (f->n_dirty == f->cap_dirty) {
    f->cap_dirty = f->cap_dirty ? f->cap_dirty * 2 : 64;
    f->dirty = realloc(f->dirty, f->cap_dirty * sizeof *f->dirty);
    if (f->dirty == NULL) die("realloc");
  }
  f->dirty[f->n_dirty++] = (struct range){start, end};
}

static int by_start(const void *a, const void *b) {
  off_t x = ((const struct range *)a)->start, y = ((const struct range *)b)->start;
  return x < y ? -1 : x > y;
}

/* fsync entry: what the fsync is about to make durable, read from the file now. */
static struct pending *snapshot(struct file *f, int fd) {
  struct pending *p = calloc(1, sizeof *p);
  if (p == NULL) die("calloc");
  struct stat st;
  if (fstat(fd, &st) != 0) die("fstat");
  p->seq = f->next_seq++;
  p->size = st.st_size;
  qsort(f->dirty, f->n_dirty, sizeof *f->dirty, by_start);
  p->items = calloc(f->n_dirty + 1, sizeof *p->items);
  if (p->items == NULL) die("calloc");
  for (size_t i = 0; i < f->n_dirty; i++) {
    struct range r = f->dirty[i];
    /* Merge overlapping or touching ranges into the previous item. */
    while (i + 1 < f->n_dirty && f->dirty[i + 1].start <= r.end) {
      if (f->dirty[i + 1].end > r.end) r.end = f->dirty[i + 1].end;
      i++;
    }
    if (r.start >= st.st_size) continue;
    if (r.end > st.st_size) r.end = st.st_size;
    struct item *it = &p->items[p->n_items++];
    it->start = r.start;
    it->data = malloc((size_t)(r.end - r.start));
    if (it->data == NULL) die("malloc");
    it->end = r.start + (off_t)pread_all(fd, it->data, (size_t)(r.end - r.start), r.start);
  }
  f->n_dirty = 0;
  struct pending **tail = &f->pending;
  while (*tail != NULL) tail = &(*tail)->next;
  *tail = p;
  return p;
}

static void free_pending(struct pending *p) {
  for (size_t i = 0; i < p->n_items; i++) free(p->items[i].data);
  free(p->items);
  free(p);
}

/* An fsync of `seq` returned: it covers every snapshot taken before it too, so apply them in order. */
static void apply_upto(struct file *f, uint64_t seq) {
  while (f->pending != NULL && f->pending->seq <= seq) {
    struct pending *p = f->pending;
    for (size_t i = 0; i < p->n_items; i++) pwrite_all(f->shadow_fd, p->items[i].data, (size_t)(p->items[i].end - p->items[i].start), p->items[i].start);
    if (REAL(ftruncate)(f->shadow_fd, p->size) != 0) die("sizing the shadow");
    f->pending = p->next;
    free_pending(p);
  }
}

/* The fsync failed: Linux may have dropped those pages, so they never become durable. */
static void drop(struct file *f, uint64_t seq) {
  for (struct pending **pp = &f->pending; *pp != NULL; pp = &(*pp)->next) {
    if ((*pp)->seq == seq) {
      struct pending *p = *pp;
      *pp = p->next;
      free_pending(p);
      return;
    }
  }
}

/* Copies bytes [skip, skip + len) of the data an iovec describes to `dst`. */
static void iov_copy(const struct iovec *iov, int cnt, size_t skip, char *dst, size_t len) {
  for (int i = 0; i < cnt && len > 0; i++) {
    if (skip >= iov[i].iov_len) { skip -= iov[i].iov_len; continue; }
    size_t n = iov[i].iov_len - skip < len ? iov[i].iov_len - skip : len;
    memcpy(dst, (const char *)iov[i].iov_base + skip, n);
    dst += n, len -= n, skip = 0;
  }
}

/* A write of `n` bytes returned. `off` < 0: it went to the fd's position, which it advanced. */
static void record_write(int fd, off_t off, const struct iovec *iov, int cnt, ssize_t n, int dsync_flag) {
  if (n <= 0 || fd_kind(fd) != FD_FILE) return;
  int saved = errno;
  if (off < 0) off = REAL(lseek)(fd, 0, SEEK_CUR) - n;
  if (fds[fd].dsync || dsync_flag) flush_latency();
  pthread_mutex_lock(&mu);
  struct file *f = files[fds[fd].file - 1];
  off_t end = off + n;
  if (!fds[fd].dsync && !dsync_flag) {
    add_dirty(f, off, end);
  } else {
    /* Durable now. Snapshots still waiting for their fsync hold older bytes of this range:
     * give them these, so applying them later cannot put the old bytes back. */
    char *buf = malloc((size_t)n);
    if (buf == NULL) die("malloc");
    iov_copy(iov, cnt, 0, buf, (size_t)n);
    pwrite_all(f->shadow_fd, buf, (size_t)n, off);
    for (struct pending *p = f->pending; p != NULL; p = p->next) {
      if (p->size < end) p->size = end;
      for (size_t i = 0; i < p->n_items; i++) {
        struct item *it = &p->items[i];
        off_t a = it->start > off ? it->start : off, b = it->end < end ? it->end : end;
        if (a < b) memcpy(it->data + (a - it->start), buf + (a - off), (size_t)(b - a));
      }
    }
    free(buf);
  }
  pthread_mutex_unlock(&mu);
  errno = saved;
}

static int is_under_watch(const char *path) {
  return strncmp(path, watch_dir, watch_len) == 0 && (path[watch_len] == '\0' || path[watch_len] == '/');
}

/* After a successful open: is it under the watched dir, and which file is it? `before` is the
 * path's stat before the open (NULL: it did not exist), asked for only when O_CREAT/O_TRUNC. */
static void track_open(int fd, int flags, const struct stat *before, int asked) {
  if (!enabled || fd < 0 || fd >= MAX_FD) return;
  int saved = errno;
  char link[64], path[PATH_MAX];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t len = readlink(link, path, sizeof path - 1);
  struct stat st;
  if (len <= 0 || (path[len] = '\0', !is_under_watch(path)) || fstat(fd, &st) != 0) {
    __atomic_store_n(&fds[fd].kind, FD_NONE, __ATOMIC_RELEASE);
    errno = saved;
    return;
  }
  pthread_mutex_lock(&mu);
  if (S_ISDIR(st.st_mode)) {
    fds[fd].file = 0;
    __atomic_store_n(&fds[fd].kind, strcmp(path, watch_dir) == 0 ? FD_DIR : FD_NONE, __ATOMIC_RELEASE);
  } else if (S_ISREG(st.st_mode)) {
    int created = asked && before == NULL && (flags & O_CREAT);
    struct file *f = find_file(st.st_dev, st.st_ino);
    /* A new file whose inode number an unlinked one had: a different file. */
    if (f != NULL && created) f->dead = 1, f = NULL;
    if (f == NULL && created) f = new_file(&st, -1);
    if (f == NULL) {
      /* Existing content we have not seen: this fd may be write-only, so read it through another. */
      int rfd = REAL(open)(path, O_RDONLY | O_CLOEXEC);
      if (rfd < 0) die("reading a watched file");
      f = new_file(&st, rfd);
      REAL(close)(rfd);
    }
    if ((flags & O_TRUNC) && before != NULL) add_dirty(f, 0, before->st_size);
    fds[fd].file = file_index(f) + 1;
    fds[fd].dsync = (flags & O_DSYNC) != 0; /* O_SYNC includes the O_DSYNC bit */
    __atomic_store_n(&fds[fd].kind, FD_FILE, __ATOMIC_RELEASE);
  } else {
    __atomic_store_n(&fds[fd].kind, FD_NONE, __ATOMIC_RELEASE);
  }
  pthread_mutex_unlock(&mu);
  errno = saved;
}

/* The watched dir's entries, as a manifest, written atomically (tmp + rename). */
static void write_manifest(void) {
  char tmp[PATH_MAX], final[PATH_MAX];
  snprintf(tmp, sizeof tmp, "%s/manifest.tmp", shadow_dir);
  snprintf(final, sizeof final, "%s/manifest", shadow_dir);
  FILE *out = fopen(tmp, "we");
  DIR *d = opendir(watch_dir);
  if (out == NULL || d == NULL) die("writing the manifest");
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    struct stat st;
    if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue; /* gone meanwhile */
    if (!S_ISREG(st.st_mode)) {
      fprintf(out, "%s\t-\n", e->d_name); /* not modelled: the test refuses such an image */
      continue;
    }
    struct file *f = find_file(st.st_dev, st.st_ino);
    /* Never opened by this process yet present: we cannot know what of it is durable. */
    if (f == NULL) f = new_file(&st, -1);
    fprintf(out, "%s\t%s\n", e->d_name, f->shadow_name);
  }
  closedir(d);
  if (fclose(out) != 0 || REAL(rename)(tmp, final) != 0) die("writing the manifest");
}

static int do_sync(int fd, int (*real)(int)) {
  int kind = fd_kind(fd);
  if (kind == FD_NONE) return real(fd);
  if (kind == FD_DIR) {
    /* Rare (Weir fsyncs its data dir once at open): hold the lock throughout. The listing is
     * read after the fsync; an entry changed during it could go either way on a real disk. */
    pthread_mutex_lock(&mu);
    int r = real(fd);
    int saved = errno;
    if (r == 0) write_manifest();
    pthread_mutex_unlock(&mu);
    errno = saved;
    return r;
  }
  pthread_mutex_lock(&mu);
  struct file *f = files[fds[fd].file - 1];
  uint64_t seq = snapshot(f, fd)->seq;
  pthread_mutex_unlock(&mu);
  flush_latency();
  int r = real(fd);
  int saved = errno;
  pthread_mutex_lock(&mu);
  if (r == 0) apply_upto(f, seq);
  else drop(f, seq);
  pthread_mutex_unlock(&mu);
  errno = saved;
  return r;
}

__attribute__((constructor)) static void init(void) {
  const char *dir = getenv("WEIR_POWERCUT_DIR"), *shadow = getenv("WEIR_POWERCUT_SHADOW");
  if (dir == NULL || shadow == NULL) return;
  if (dir[0] != '/' || shadow[0] != '/') errno = EINVAL, die("WEIR_POWERCUT_DIR and WEIR_POWERCUT_SHADOW must be absolute");
  if (realpath(dir, watch_dir) == NULL) die("WEIR_POWERCUT_DIR");
  if (realpath(shadow, shadow_dir) == NULL || strlen(shadow_dir) > PATH_MAX - 64) die("WEIR_POWERCUT_SHADOW");
  watch_len = strlen(watch_dir);
  const char *delay = getenv("WEIR_POWERCUT_FSYNC_DELAY_US");
  long us = delay != NULL ? strtol(delay, NULL, 10) : 0;
  flush_delay = (struct timespec){us / 1000000, (us % 1000000) * 1000};
  /* Weir's config loader refuses WEIR_* variables it does not know; and children (which inherit
   * LD_PRELOAD) must not keep an image of their own: so the settings go before main() runs. */
  unsetenv("WEIR_POWERCUT_DIR");
  unsetenv("WEIR_POWERCUT_SHADOW");
  unsetenv("WEIR_POWERCUT_FSYNC_DELAY_US");
  /* The dir as the test left it is on disk: every file's current content is the baseline. */
  DIR *d = opendir(watch_dir);
  if (d == NULL) die("WEIR_POWERCUT_DIR");
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    int src = openat(dirfd(d), e->d_name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW); /* not yet enabled: not tracked */
    struct stat st;
    if (src >= 0 && fstat(src, &st) == 0 && S_ISREG(st.st_mode)) new_file(&st, src);
    if (src >= 0) REAL(close)(src);
  }
  closedir(d);
  write_manifest();
  enabled = 1;
}

/* ---- interposed calls ---- */

ssize_t write(int fd, const void *buf, size_t n) {
  ssize_t r = REAL(write)(fd, buf, n);
  struct iovec v = {(void *)buf, n};
  record_write(fd, -1, &v, 1, r, 0);
  return r;
}
ssize_t pwrite(int fd, const void *buf, size_t n, off_t off) {
  ssize_t r = REAL(pwrite)(fd, buf, n, off);
  struct iovec v = {(void *)buf, n};
  record_write(fd, off, &v, 1, r, 0);
  return r;
}
ssize_t pwrite64(int fd, const void *buf, size_t n, off_t off) {
  ssize_t r = REAL(pwrite64)(fd, buf, n, off);
  struct iovec v = {(void *)buf, n};
  record_write(fd, off, &v, 1, r, 0);
  return r;
}
ssize_t writev(int fd, const struct iovec *iov, int cnt) {
  ssize_t r = REAL(writev)(fd, iov, cnt);
  record_write(fd, -1, iov, cnt, r, 0);
  return r;
}
ssize_t pwritev(int fd, const struct iovec *iov, int cnt, off_t off) {
  ssize_t r = REAL(pwritev)(fd, iov, cnt, off);
  record_write(fd, off, iov, cnt, r, 0);
  return r;
}
ssize_t pwritev64(int fd, const struct iovec *iov, int cnt, off_t off) {
  ssize_t r = REAL(pwritev64)(fd, iov, cnt, off);
  record_write(fd, off, iov, cnt, r, 0);
  return r;
}
#ifdef RWF_DSYNC
ssize_t pwritev2(int fd, const struct iovec *iov, int cnt, off_t off, int flags) {
  ssize_t r = REAL(pwritev2)(fd, iov, cnt, off, flags);
  record_write(fd, off, iov, cnt, r, flags & (RWF_DSYNC | RWF_SYNC));
  return r;
}
ssize_t pwritev64v2(int fd, const struct iovec *iov, int cnt, off_t off, int flags) {
  ssize_t r = REAL(pwritev64v2)(fd, iov, cnt, off, flags);
  record_write(fd, off, iov, cnt, r, flags & (RWF_DSYNC | RWF_SYNC));
  return r;
}
#endif

/* A size change: the bytes between the old and the new size change too (cut off, or zeros). */
static int truncate_common(int fd, off_t len, int (*real)(int, off_t)) {
  struct stat before;
  int known = fd_kind(fd) == FD_FILE && fstat(fd, &before) == 0;
  int r = real(fd, len);
  if (r == 0 && known) {
    int saved = errno;
    pthread_mutex_lock(&mu);
    add_dirty(files[fds[fd].file - 1], len < before.st_size ? len : before.st_size, len > before.st_size ? len : before.st_size);
    pthread_mutex_unlock(&mu);
    errno = saved;
  }
  return r;
}
int ftruncate(int fd, off_t len) { return truncate_common(fd, len, REAL(ftruncate)); }
int ftruncate64(int fd, off_t len) { return truncate_common(fd, len, REAL(ftruncate64)); }

static int fallocate_common(int fd, int mode, off_t off, off_t len, int (*real)(int, int, off_t, off_t)) {
  int r = real(fd, mode, off, len);
  if (r == 0 && fd_kind(fd) == FD_FILE) {
    int saved = errno;
    pthread_mutex_lock(&mu);
    add_dirty(files[fds[fd].file - 1], off, off + len); /* punched or zeroed bytes; size is read at fsync */
    pthread_mutex_unlock(&mu);
    errno = saved;
  }
  return r;
}
int fallocate(int fd, int mode, off_t off, off_t len) { return fallocate_common(fd, mode, off, len, REAL(fallocate)); }
int fallocate64(int fd, int mode, off_t off, off_t len) { return fallocate_common(fd, mode, off, len, REAL(fallocate64)); }

int fsync(int fd) { return do_sync(fd, REAL(fsync)); }
int fdatasync(int fd) { return do_sync(fd, REAL(fdatasync)); }
/* sync_file_range starts writeback but promises nothing: not interposed, so not a flush. */

/* Shared mappings are not followed back to files: say so if one of a watched file is synced. */
int msync(void *addr, size_t len, int flags) {
  if (enabled) {
    char line[PATH_MAX + 128];
    FILE *maps = fopen("/proc/self/maps", "re");
    while (maps != NULL && fgets(line, sizeof line, maps) != NULL) {
      unsigned long lo, hi;
      char *path = strchr(line, '/');
      if (sscanf(line, "%lx-%lx", &lo, &hi) == 2 && (unsigned long)addr >= lo && (unsigned long)addr < hi && path != NULL) {
        path[strcspn(path, "\n")] = '\0';
        if (is_under_watch(path)) note_unmodelled("msync %s %zu bytes flags %d\n", path, len, flags);
      }
    }
    if (maps != NULL) fclose(maps);
  }
  return REAL(msync)(addr, len, flags);
}
void sync(void) {
  if (enabled) note_unmodelled("sync\n");
  REAL(sync)();
}
int syncfs(int fd) {
  if (enabled) note_unmodelled("syncfs\n");
  return REAL(syncfs)(fd);
}

/* The opens: mode is there only with O_CREAT/O_TMPFILE. Before an O_CREAT/O_TRUNC open we stat
 * the path, to tell a new file (whose inode number may be a freed one) and the bytes cut off. */
#define OPEN_BODY(call)                                                                \
  mode_t mode = 0;                                                                     \
  if (flags & (O_CREAT | O_TMPFILE)) {                                                 \
    va_list ap;                                                                        \
    va_start(ap, flags);                                                               \
    mode = va_arg(ap, mode_t);                                                         \
    va_end(ap);                                                                        \
  }                                                                                    \
  struct stat before;                                                                  \
  int asked = enabled && (flags & (O_CREAT | O_TRUNC));                                \
  int existed = asked && fstatat(dirfd, path, &before, 0) == 0;                        \
  int fd = call;                                                                       \
  track_open(fd, flags, existed ? &before : NULL, asked);                              \
  return fd;

int open(const char *path, int flags, ...) { int dirfd = AT_FDCWD; OPEN_BODY(REAL(open)(path, flags, mode)) }
int open64(const char *path, int flags, ...) { int dirfd = AT_FDCWD; OPEN_BODY(REAL(open64)(path, flags, mode)) }
int openat(int dirfd, const char *path, int flags, ...) { OPEN_BODY(REAL(openat)(dirfd, path, flags, mode)) }
int openat64(int dirfd, const char *path, int flags, ...) { OPEN_BODY(REAL(openat64)(dirfd, path, flags, mode)) }
int creat(const char *path, mode_t m) { return open(path, O_CREAT | O_WRONLY | O_TRUNC, m); }
int creat64(const char *path, mode_t m) { return open64(path, O_CREAT | O_WRONLY | O_TRUNC, m); }

/* Closing forgets the fd first: once the real close returns, another thread may get the number. */
int close(int fd) {
  if (fd >= 0 && fd < MAX_FD) __atomic_store_n(&fds[fd].kind, FD_NONE, __ATOMIC_RELEASE);
  return REAL(close)(fd);
}

static void copy_fd(int from, int to) {
  if (to < 0 || to >= MAX_FD) return;
  int kind = fd_kind(from);
  /* The common case, and the only one in a forked child before exec (where another thread may
   * have held the lock at fork time): nothing watched involved, so no lock. */
  if (kind == FD_NONE && fd_kind(to) == FD_NONE) return;
  pthread_mutex_lock(&mu);
  if (kind != FD_NONE) fds[to].file = fds[from].file, fds[to].dsync = fds[from].dsync;
  __atomic_store_n(&fds[to].kind, kind, __ATOMIC_RELEASE);
  pthread_mutex_unlock(&mu);
}
int dup(int fd) {
  int r = REAL(dup)(fd);
  if (r >= 0) copy_fd(fd, r);
  return r;
}
int dup2(int fd, int to) {
  int r = REAL(dup2)(fd, to);
  if (r >= 0 && fd != to) copy_fd(fd, r);
  return r;
}
int dup3(int fd, int to, int flags) {
  int r = REAL(dup3)(fd, to, flags);
  if (r >= 0) copy_fd(fd, r);
  return r;
}
