/*
 * The native entry points of bpfmap: bpf(cmd, attr, [offset, buffer, mayWrite]...), bpfSequence
 * (calls laid out in TypeScript, made in one crossing until one fails, each pointer checked like
 * bpf's: the per-element walk), mmap/munmap of a map fd (mmapable arrays, ring buffers), huge pages
 * for large dump buffers, dup of an fd (Node has no fcntl), a libuv poll handle on an fd (ring
 * buffer readiness), and two calls Node lacks that the CLI needs to know what a pipe's reader has
 * taken (see the end).
 *
 * For each (offset, buffer, mayWrite) triple the buffer's address is stored as a u64 at
 * attr[offset] (0 for null or an empty buffer), after checking the buffer holds at least
 * mayWrite bytes: the caller states how much the kernel may read or write through that
 * pointer, and a shorter buffer is refused here so the kernel can never touch memory past it. Every layout and all
 * logic live in TypeScript; this file only moves pointers and calls bpf(2).
 *
 * An offset with bit 31 set (NESTED) stores the address inside the buffer of the last triple
 * that was not itself nested, instead of the attr: info structs the kernel reads through a pointer can themselves
 * hold pointers (struct bpf_btf_info.btf, .name).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <node_api.h>
#include <uv.h>

#define MAX_REFS 6
#define MAX_ARGS (2 + 3 * MAX_REFS)
#define NESTED 0x80000000u

static napi_value throw_error(napi_env env, int range, const char *msg) {
  if (range)
    napi_throw_range_error(env, "ERR_BPFMAP_NATIVE", msg);
  else
    napi_throw_type_error(env, "ERR_BPFMAP_NATIVE", msg);
  return NULL;
}

/*
 * Accepts a TypedArray of type `want` only; *n is its element count. napi_get_typedarray_info
 * itself refuses a value that is not a TypedArray (napi_invalid_arg), so no separate
 * napi_is_typedarray call is made on this per-syscall path.
 */
static int get_typed(napi_env env, napi_value v, napi_typedarray_type want, void **data, size_t *n) {
  napi_typedarray_type type;
  void *p = NULL;
  /* The ArrayBuffer and offset outputs are optional: asking for none spares a handle per call. */
  if (napi_get_typedarray_info(env, v, &type, n, &p, NULL, NULL) != napi_ok) return 0;
  if (type != want) return 0;
  *data = p;
  return 1;
}

/* A Uint8Array (Buffer included); anything else is a TypeError. */
static int get_bytes(napi_env env, napi_value v, uint8_t **data, size_t *len) {
  return get_typed(env, v, napi_uint8_array, (void **)data, len);
}

static int get_u32(napi_env env, napi_value v, uint32_t *out) {
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok) return 0;
  if (!(d >= 0 && d <= 4294967295.0) || d != (double)(uint32_t)d) return 0;
  *out = (uint32_t)d;
  return 1;
}

/*
 * Checks one call's arguments (cmd, attr, triples) and stores the buffers' addresses into its
 * attr. Returns 0 after throwing; nothing is called then.
 */
static int prepare(napi_env env, napi_value *argv, size_t argc, uint32_t *cmd_out, uint8_t **attr_out, size_t *attr_len_out) {
  uint32_t cmd;
  if (!get_u32(env, argv[0], &cmd)) return throw_error(env, 0, "bpf: cmd must be a u32"), 0;
  uint8_t *attr;
  size_t attr_len;
  if (!get_bytes(env, argv[1], &attr, &attr_len) || attr_len == 0)
    return throw_error(env, 0, "bpf: attr must be a non-empty Uint8Array"), 0;
  if (attr_len > 4096) return throw_error(env, 1, "bpf: attr larger than a page"), 0;
  if (((uintptr_t)attr & 7) != 0)
    return throw_error(env, 1, "bpf: attr must be 8-byte aligned"), 0;

  uint8_t *prev = NULL;
  size_t prev_len = 0;
  for (size_t i = 2; i < argc; i += 3) {
    uint32_t offset, may_write;
    if (!get_u32(env, argv[i], &offset) || !get_u32(env, argv[i + 2], &may_write))
      return throw_error(env, 0, "bpf: pointer offset and length must be u32"), 0;
    uint8_t *target = attr;
    size_t target_len = attr_len;
    int nested = (offset & NESTED) != 0;
    if (nested) {
      if (prev == NULL) return throw_error(env, 1, "bpf: nested pointer without a previous buffer"), 0;
      offset &= ~NESTED;
      target = prev;
      target_len = prev_len;
    }
    if (offset % 8 != 0 || (size_t)offset + 8 > target_len)
      return throw_error(env, 1, "bpf: pointer offset outside the attr"), 0;
    uint64_t addr = 0;
    uint8_t *data;
    size_t len;
    /* The common case, a buffer, first: null and undefined are told apart only when it is not one. */
    if (get_bytes(env, argv[i + 1], &data, &len)) {
      if (len < may_write)
        return throw_error(env, 1, "bpf: buffer shorter than what the kernel may write"), 0;
      /* An empty buffer is passed as no buffer: the kernel can use none of it, and some commands
       * read a zero size next to a pointer as "no limit" (PROG_TEST_RUN's data_size_out). */
      if (len > 0) addr = (uint64_t)(uintptr_t)data;
      if (!nested) {
        prev = data;
        prev_len = len;
      }
    } else {
      napi_valuetype t;
      if (napi_typeof(env, argv[i + 1], &t) != napi_ok) return 0;
      if (t != napi_null && t != napi_undefined)
        return throw_error(env, 0, "bpf: pointer buffers must be Uint8Array"), 0;
      if (may_write != 0) return throw_error(env, 1, "bpf: null pointer where the kernel may access bytes"), 0;
    }
    memcpy(target + offset, &addr, sizeof addr);
  }
  *cmd_out = cmd;
  *attr_out = attr;
  *attr_len_out = attr_len;
  return 1;
}

static napi_value bpf_call(napi_env env, napi_callback_info info) {
  size_t argc = MAX_ARGS + 1;
  napi_value argv[MAX_ARGS + 1];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 2 || argc > MAX_ARGS || (argc - 2) % 3 != 0)
    return throw_error(env, 0, "bpf(cmd, attr, [offset, buffer, mayWrite]...): wrong argument count");
  uint32_t cmd;
  uint8_t *attr;
  size_t attr_len;
  if (!prepare(env, argv, argc, &cmd, &attr, &attr_len)) return NULL;
  long r = syscall(__NR_bpf, (int)cmd, attr, (unsigned int)attr_len);
  int32_t result = r < 0 ? -errno : (int32_t)r;
  napi_value out;
  napi_create_int32(env, result, &out);
  return out;
}

#define SEQ_MAX_CALLS 0xffff
#define SEQ_MAX_BUFFERS 8

/* A Uint32Array only (n: its element count). */
static int get_u32s(napi_env env, napi_value v, uint32_t **data, size_t *n) {
  return get_typed(env, v, napi_uint32_array, (void **)data, n);
}

static int overlaps(const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len) {
  return a_len > 0 && b_len > 0 && a < b + b_len && b < a + a_len;
}

/*
 * bpfSequence(cmds, attrs, attrSize, relocs, buffers): cmds.length calls, call i being
 * bpf(cmds[i], attrs + i * attrSize, attrSize), made in order until one fails: a run of a
 * per-element walk's steps in one crossing into native code. relocs holds (attr offset, buffer
 * index, byte offset, length) quadruples: the address of buffers[index] + byte offset is stored as
 * a u64 at that offset of attrs, after checking that the buffer holds length bytes from there
 * (what the kernel may read or write through that pointer). Everything is checked and every
 * address stored before the first call. No buffer may overlap cmds or attrs: a call writing
 * through its pointers must not change a later call's command or attr. Returns errno * 65536 +
 * the number of calls that succeeded (errno 0: all did): for commands that answer 0 or -1.
 */
static napi_value bpf_sequence_call(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc != 5) return throw_error(env, 0, "bpfSequence(cmds, attrs, attrSize, relocs, buffers): wrong argument count");
  uint32_t *cmds, *relocs, attr_size;
  size_t n, nrelocs, attrs_len;
  uint8_t *attrs;
  if (!get_u32s(env, argv[0], &cmds, &n)) return throw_error(env, 0, "bpfSequence: cmds must be a Uint32Array");
  if (!get_bytes(env, argv[1], &attrs, &attrs_len)) return throw_error(env, 0, "bpfSequence: attrs must be a Uint8Array");
  if (!get_u32(env, argv[2], &attr_size)) return throw_error(env, 0, "bpfSequence: attrSize must be a u32");
  if (!get_u32s(env, argv[3], &relocs, &nrelocs)) return throw_error(env, 0, "bpfSequence: relocs must be a Uint32Array");
  if (n == 0 || n > SEQ_MAX_CALLS) return throw_error(env, 1, "bpfSequence: from 1 to 65535 calls");
  if (attr_size == 0 || attr_size > 4096 || attr_size % 8 != 0)
    return throw_error(env, 1, "bpfSequence: attrSize must be a multiple of 8, at most a page");
  if (((uintptr_t)attrs & 7) != 0) return throw_error(env, 1, "bpfSequence: attrs must be 8-byte aligned");
  /* n < 2^16 and attr_size <= 2^12: no overflow. */
  size_t used = n * attr_size;
  if (attrs_len < used) return throw_error(env, 1, "bpfSequence: attrs shorter than its calls");
  if (nrelocs % 4 != 0) return throw_error(env, 1, "bpfSequence: relocs must hold quadruples");

  bool is_array;
  uint32_t nbufs;
  if (napi_is_array(env, argv[4], &is_array) != napi_ok || !is_array || napi_get_array_length(env, argv[4], &nbufs) != napi_ok)
    return throw_error(env, 0, "bpfSequence: buffers must be an array");
  if (nbufs > SEQ_MAX_BUFFERS) return throw_error(env, 1, "bpfSequence: at most 8 buffers");
  uint8_t *buf[SEQ_MAX_BUFFERS];
  size_t buf_len[SEQ_MAX_BUFFERS];
  for (uint32_t b = 0; b < nbufs; b++) {
    napi_value v;
    if (napi_get_element(env, argv[4], b, &v) != napi_ok) return NULL;
    if (!get_bytes(env, v, &buf[b], &buf_len[b])) return throw_error(env, 0, "bpfSequence: buffers must be Uint8Arrays");
    if (overlaps(buf[b], buf_len[b], attrs, attrs_len) || overlaps(buf[b], buf_len[b], (uint8_t *)cmds, n * sizeof *cmds))
      return throw_error(env, 1, "bpfSequence: a buffer overlaps cmds or attrs");
  }

  for (size_t r = 0; r < nrelocs; r += 4) {
    uint32_t offset = relocs[r], b = relocs[r + 1], at = relocs[r + 2], len = relocs[r + 3];
    if (offset % 8 != 0 || (size_t)offset + 8 > used) return throw_error(env, 1, "bpfSequence: pointer offset outside the attrs");
    if (b >= nbufs) return throw_error(env, 1, "bpfSequence: buffer index out of range");
    if ((size_t)at > buf_len[b] || (size_t)len > buf_len[b] - at)
      return throw_error(env, 1, "bpfSequence: buffer shorter than what the kernel may access");
  }
  for (size_t r = 0; r < nrelocs; r += 4) {
    uint64_t addr = (uint64_t)(uintptr_t)(buf[relocs[r + 1]] + relocs[r + 2]);
    memcpy(attrs + relocs[r], &addr, sizeof addr);
  }

  uint32_t done = 0;
  int32_t err = 0;
  for (; done < n; done++) {
    if (syscall(__NR_bpf, (int)cmds[done], attrs + (size_t)done * attr_size, attr_size) < 0) {
      err = errno & 4095;
      break;
    }
  }
  napi_value out;
  napi_create_int32(env, err * 65536 + (int32_t)done, &out);
  return out;
}

static napi_value int_result(napi_env env, int r) {
  napi_value out;
  napi_create_int32(env, r < 0 ? -errno : r, &out);
  return out;
}

/* unread(fd): ioctl(FIONREAD), the bytes written into a pipe that no reader has taken yet; or -errno. */
static napi_value unread_call(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  uint32_t fd;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc != 1 || !get_u32(env, argv[0], &fd)) return throw_error(env, 0, "unread(fd): fd must be a u32");
  int n = 0;
  int r = ioctl((int)fd, FIONREAD, &n);
  return int_result(env, r < 0 ? r : n);
}

/* pollOut(fd, timeoutMs): poll(POLLOUT), the revents (POLLERR on a pipe: no reader is left), 0 on timeout, or -errno. */
static napi_value poll_out_call(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  uint32_t fd, timeout;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc != 2 || !get_u32(env, argv[0], &fd) || !get_u32(env, argv[1], &timeout) || timeout > 60000)
    return throw_error(env, 0, "pollOut(fd, timeoutMs): a u32 fd and a timeout of at most 60000 ms");
  struct pollfd p = { .fd = (int)fd, .events = POLLOUT, .revents = 0 };
  int r = poll(&p, 1, (int)timeout);
  return int_result(env, r <= 0 ? r : p.revents);
}

/* dup(fd): fcntl(F_DUPFD_CLOEXEC), a second fd on the same open file (a map adopted from another library); or -errno. */
static napi_value dup_call(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  uint32_t fd;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc != 1 || !get_u32(env, argv[0], &fd) || fd > INT32_MAX) return throw_error(env, 0, "dup(fd): fd must be a non-negative int");
  return int_result(env, fcntl((int)fd, F_DUPFD_CLOEXEC, 0));
}

/* The states of a mapping: the map's pages, private zero pages in their place, or no range at all. */
enum { MAPPED, REPLACED, GONE };

/* One mapping made by mmap_call; wrapped into its ArrayBuffer so munmap_call can find it. */
struct mapping {
  void *addr;
  size_t len;
  int prot;
  int state;
};

static void mapping_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  struct mapping *m = data;
  if (m->state != GONE) munmap(m->addr, m->len);
  free(m);
}

/*
 * mmap(fd, length, offset, writable): a MAP_SHARED mapping of a map fd as an ArrayBuffer, read-only
 * unless writable; or -errno. The mapping lives until munmap(buffer) or until the buffer is collected.
 */
static napi_value mmap_call(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  uint32_t fd;
  double length, offset;
  bool writable;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc != 4 || !get_u32(env, argv[0], &fd) || napi_get_value_double(env, argv[1], &length) != napi_ok ||
      napi_get_value_double(env, argv[2], &offset) != napi_ok || napi_get_value_bool(env, argv[3], &writable) != napi_ok)
    return throw_error(env, 0, "mmap(fd, length, offset, writable): a u32 fd, two numbers and a boolean");
  long page = sysconf(_SC_PAGESIZE);
  /* The length is bounded by what an ArrayBuffer may hold; the offset must be a whole page. */
  if (!(length >= 1 && length <= 9007199254740991.0) || length != (double)(size_t)length)
    return throw_error(env, 1, "mmap: length must be a positive integer");
  if (!(offset >= 0 && offset <= 9007199254740991.0) || offset != (double)(uint64_t)offset ||
      (uint64_t)offset % (uint64_t)page != 0)
    return throw_error(env, 1, "mmap: offset must be a non-negative multiple of the page size");
  struct mapping *m = malloc(sizeof *m);
  if (m == NULL) return throw_error(env, 1, "mmap: out of memory");
  m->len = (size_t)length;
  m->prot = PROT_READ | (writable ? PROT_WRITE : 0);
  m->addr = mmap(NULL, m->len, m->prot, MAP_SHARED, (int)fd, (off_t)offset);
  if (m->addr == MAP_FAILED) {
    int err = errno;
    free(m);
    errno = err;
    return int_result(env, -1);
  }
  m->state = MAPPED;
  napi_value ab;
  if (napi_create_external_arraybuffer(env, m->addr, m->len, NULL, NULL, &ab) != napi_ok ||
      napi_wrap(env, ab, m, mapping_finalize, NULL, NULL) != napi_ok) {
    munmap(m->addr, m->len);
    free(m);
    return NULL;
  }
  return ab;
}

/*
 * munmap(buffer): lets go of the map's pages of a buffer made by mmap. Private zero pages of the
 * same protection take their place in one mmap(MAP_FIXED), so views of the buffer stay in bounds
 * and read zeros, and the range is unmapped when the buffer is collected. The buffer is not
 * detached: one detach in an isolate makes V8 check every typed-array access of the process for
 * it from then on. Where the kernel refuses the zero pages, the buffer is detached and unmapped.
 * A second call is a no-op.
 */
static napi_value munmap_call(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  void *data = NULL;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc != 1 || napi_unwrap(env, argv[0], &data) != napi_ok || data == NULL)
    return throw_error(env, 0, "munmap(buffer): not a buffer made by mmap");
  struct mapping *m = data;
  if (m->state != MAPPED) return NULL;
  if (mmap(m->addr, m->len, m->prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != MAP_FAILED) {
    m->state = REPLACED;
    return NULL;
  }
  if (napi_detach_arraybuffer(env, argv[0]) != napi_ok) return NULL;
  munmap(m->addr, m->len);
  m->state = GONE;
  return NULL;
}

/*
 * hugePages(buffer, align): madvise(MADV_HUGEPAGE) on the whole pages inside a Uint8Array, so the
 * kernel backs its untouched huge-page-aligned ranges with huge pages when they are first written
 * (one fault per 2 MiB instead of one per 4 KiB). Returns the offset in the buffer of its first byte
 * aligned to align (a power of two from the page size to 1 GiB; the caller places its data there),
 * or -errno. Only this advice: it changes how memory is backed, never what it holds.
 */
static napi_value huge_pages_call(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  uint8_t *data;
  size_t len;
  uint32_t align;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc != 2 || !get_bytes(env, argv[0], &data, &len) || !get_u32(env, argv[1], &align))
    return throw_error(env, 0, "hugePages(buffer, align): a Uint8Array and a u32");
  uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
  if (align < page || align > (1u << 30) || (align & (align - 1)) != 0)
    return throw_error(env, 1, "hugePages: align must be a power of two from the page size to 1 GiB");
  uintptr_t addr = (uintptr_t)data;
  uintptr_t first = (addr + align - 1) & ~((uintptr_t)align - 1);
  uintptr_t start = (addr + page - 1) & ~(page - 1);
  uintptr_t end = (addr + len) & ~(page - 1);
  if (len > 0 && end > start && madvise((void *)start, end - start, MADV_HUGEPAGE) < 0) return int_result(env, -1);
  /* At most align - 1, so it fits the int32 result. */
  return int_result(env, (int)(first - addr));
}

/* pageSize(): sysconf(_SC_PAGESIZE), the unit of a ring buffer's layout. */
static napi_value page_size_call(napi_env env, napi_callback_info info) {
  (void)info;
  return int_result(env, (int)sysconf(_SC_PAGESIZE));
}

/*
 * Readiness of an fd (a ring buffer map: the kernel's poll says EPOLLIN when data is there) on
 * Node's own event loop: a libuv poll handle calls a JS function back, so waiting costs no thread
 * and no syscall per record. watch(fd, fn) makes a stopped handle; watchStart/watchStop turn it on
 * and off; watchClose releases it (and the reference to fn) for good.
 */
struct watch {
  uv_poll_t handle;
  napi_env env;
  napi_ref fn;
  napi_async_context ctx;
  int closed;
  /* Two owners: libuv until the handle's close callback, the JS external until it is collected. */
  int handle_done, external_done;
};

static void watch_freed(uv_handle_t *h) {
  struct watch *w = h->data;
  w->handle_done = 1;
  if (w->external_done) free(w);
}

/* Releases a watch once: the handle is closed (freed by libuv's close callback), fn unreferenced. */
static void watch_release(struct watch *w) {
  if (w->closed) return;
  w->closed = 1;
  napi_delete_reference(w->env, w->fn);
  napi_async_destroy(w->env, w->ctx);
  uv_close((uv_handle_t *)&w->handle, watch_freed);
}

/* The environment is going away (a worker ends) with the watch still open. */
static void watch_cleanup(void *data) {
  watch_release(data);
}

/* The external was collected: a watch never closed is closed now. */
static void watch_finalize(napi_env env, void *data, void *hint) {
  (void)hint;
  struct watch *w = data;
  if (!w->closed) {
    napi_remove_env_cleanup_hook(env, watch_cleanup, w);
    watch_release(w);
  }
  w->external_done = 1;
  if (w->handle_done) free(w);
}

static void watch_ready(uv_poll_t *h, int status, int events) {
  struct watch *w = h->data;
  if (w->closed) return;
  napi_env env = w->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value fn, recv, arg;
  /* napi_make_callback wants an object as the receiver: the global one, as for a plain function call. */
  if (napi_get_reference_value(env, w->fn, &fn) == napi_ok && fn != NULL && napi_get_global(env, &recv) == napi_ok &&
      napi_create_int32(env, status < 0 ? status : events, &arg) == napi_ok)
    /* Exceptions thrown by fn go to the process's uncaughtException, as from any I/O callback. */
    napi_make_callback(env, w->ctx, recv, fn, 1, &arg, NULL);
  napi_close_handle_scope(env, scope);
}

static int get_watch(napi_env env, napi_value v, struct watch **out) {
  void *p = NULL;
  if (napi_get_value_external(env, v, &p) != napi_ok || p == NULL) return 0;
  *out = p;
  return 1;
}

/* watch(fd, fn): a stopped poll handle on fd; or -errno (EBADF for an fd that is not open). */
static napi_value watch_call(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  uint32_t fd;
  napi_valuetype t;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc != 2 || !get_u32(env, argv[0], &fd) || fd > INT32_MAX || napi_typeof(env, argv[1], &t) != napi_ok || t != napi_function)
    return throw_error(env, 0, "watch(fd, fn): a u32 fd and a function");
  uv_loop_t *loop;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok) return throw_error(env, 0, "watch: no event loop");
  struct watch *w = calloc(1, sizeof *w);
  if (w == NULL) return throw_error(env, 1, "watch: out of memory");
  int r = uv_poll_init(loop, &w->handle, (int)fd);
  if (r < 0) {
    free(w);
    napi_value out;
    napi_create_int32(env, r, &out); /* libuv errors are -errno on Unix */
    return out;
  }
  w->handle.data = w;
  w->env = env;
  w->external_done = 1; /* until the external exists, libuv's close callback is the only owner */
  napi_value name, ext;
  if (napi_create_string_utf8(env, "bpfmap.RingWatch", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_async_init(env, NULL, name, &w->ctx) != napi_ok) {
    uv_close((uv_handle_t *)&w->handle, watch_freed);
    return NULL;
  }
  if (napi_create_reference(env, argv[1], 1, &w->fn) != napi_ok) {
    napi_async_destroy(env, w->ctx);
    uv_close((uv_handle_t *)&w->handle, watch_freed);
    return NULL;
  }
  if (napi_add_env_cleanup_hook(env, watch_cleanup, w) != napi_ok) {
    watch_release(w);
    return NULL;
  }
  w->external_done = 0;
  if (napi_create_external(env, w, watch_finalize, NULL, &ext) != napi_ok) {
    napi_remove_env_cleanup_hook(env, watch_cleanup, w);
    w->external_done = 1;
    watch_release(w);
    return NULL;
  }
  return ext;
}

/* watchStart(w): poll for readability (level-triggered: fn is called while data is there); 0 or -errno. */
static napi_value watch_start_call(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  struct watch *w;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc != 1 || !get_watch(env, argv[0], &w)) return throw_error(env, 0, "watchStart(w): not a watch");
  napi_value out;
  napi_create_int32(env, w->closed ? -EBADF : uv_poll_start(&w->handle, UV_READABLE, watch_ready), &out);
  return out;
}

/* watchStop(w) and watchClose(w): each is a no-op on a closed watch. */
static napi_value watch_stop_or_close(napi_env env, napi_callback_info info, int close) {
  size_t argc = 1;
  napi_value argv[1];
  struct watch *w;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc != 1 || !get_watch(env, argv[0], &w)) return throw_error(env, 0, "watchStop/watchClose(w): not a watch");
  if (w->closed) return NULL;
  uv_poll_stop(&w->handle);
  if (close) {
    napi_remove_env_cleanup_hook(env, watch_cleanup, w);
    watch_release(w);
  }
  return NULL;
}

static napi_value watch_stop_call(napi_env env, napi_callback_info info) {
  return watch_stop_or_close(env, info, 0);
}

static napi_value watch_close_call(napi_env env, napi_callback_info info) {
  return watch_stop_or_close(env, info, 1);
}

NAPI_MODULE_INIT(/* napi_env env, napi_value exports */) {
  static const struct { const char *name; napi_callback cb; } fns[] = {
    { "bpf", bpf_call }, { "bpfSequence", bpf_sequence_call }, { "unread", unread_call }, { "pollOut", poll_out_call },
    { "mmap", mmap_call }, { "munmap", munmap_call }, { "dup", dup_call }, { "hugePages", huge_pages_call },
    { "pageSize", page_size_call }, { "watch", watch_call }, { "watchStart", watch_start_call },
    { "watchStop", watch_stop_call }, { "watchClose", watch_close_call },
  };
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
    napi_value fn;
    if (napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].cb, NULL, &fn) != napi_ok) return NULL;
    if (napi_set_named_property(env, exports, fns[i].name, fn) != napi_ok) return NULL;
  }
  return exports;
}
