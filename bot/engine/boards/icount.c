/*
 * perfbot's instruction counter: a TCG plugin for QEMU's user mode (qemu-aarch64).
 *
 * Counts the guest instructions executed between two markers the guest sets,
 * per translated block, so that the count can be split by the function each
 * block belongs to. A marker is a system call with a number no Linux system
 * call has (PERFBOT_MARKER): QEMU tells the plugin about it before it answers
 * the guest with ENOSYS, so setting one costs the guest nothing else.
 *
 *   syscall(PERFBOT_MARKER, MARK_START, 0)   every counter to zero
 *   syscall(PERFBOT_MARKER, MARK_STOP, ID)   write OUT/count-PID-ID.txt, then return
 *
 * The file is written before the system call returns, so the guest can read it
 * at once. Its format, one record per line:
 *
 *   perfbot-icount 1
 *   total N                    instructions executed between the markers
 *   VADDR INSNS EXECS          a block: start address (hex), instructions, executions
 *
 * Counting is an inline add per executed block (no call into the plugin), which
 * keeps emulation at about 700 million guest instructions a second here. The
 * adds are not atomic: with several guest threads running at once the count
 * is inexact, so the board runs TVM and TFLite with one thread.
 *
 * Built by bot/engine/boards/plugin.py with the host's C compiler; QEMU ships
 * no plugin header, so the few functions of QEMU's plugin API (version 1, which
 * QEMU 4.2 to 8.x accept) used here are declared below, as
 * include/qemu/qemu-plugin.h declares them.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define EXPORT __attribute__((visibility("default")))

typedef uint64_t qemu_plugin_id_t;
typedef struct {
    const char *target_name;
    struct {
        int min;
        int cur;
    } version;
    bool system_emulation;
    union {
        struct {
            int smp_vcpus;
            int max_vcpus;
        } system;
    };
} qemu_info_t;
struct qemu_plugin_tb;
enum qemu_plugin_op { QEMU_PLUGIN_INLINE_ADD_U64 };
typedef void (*qemu_plugin_vcpu_tb_trans_cb_t)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb);
typedef void (*qemu_plugin_vcpu_syscall_cb_t)(qemu_plugin_id_t id, unsigned int vcpu_index, int64_t num,
                                              uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5,
                                              uint64_t a6, uint64_t a7, uint64_t a8);
void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, qemu_plugin_vcpu_tb_trans_cb_t cb);
void qemu_plugin_register_vcpu_tb_exec_inline(struct qemu_plugin_tb *tb, enum qemu_plugin_op op, void *ptr,
                                              uint64_t imm);
void qemu_plugin_register_vcpu_syscall_cb(qemu_plugin_id_t id, qemu_plugin_vcpu_syscall_cb_t cb);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
uint64_t qemu_plugin_tb_vaddr(const struct qemu_plugin_tb *tb);

EXPORT int qemu_plugin_version = 1;

/* Kept in step with bot/child/qemu_server.py (tests/engine/boards/test_plugin.py checks it). */
#define PERFBOT_MARKER 0x7e57
#define MARK_START 1
#define MARK_STOP 2

/* One translated block: where it starts, how many instructions it has, how often it ran. A block translated
 * again (after a flush) with the same start and length shares its counter. Never freed: QEMU adds to it. */
struct block {
    uint64_t vaddr;
    uint64_t insns;
    uint64_t execs;
    struct block *next;
};

#define BUCKETS (1u << 16)
static struct block *table[BUCKETS];
static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static char out_dir[4096] = ".";

static struct block *block_for(uint64_t vaddr, uint64_t insns)
{
    unsigned bucket = (unsigned)((vaddr >> 2) ^ (vaddr >> 18) ^ insns) & (BUCKETS - 1);
    struct block *b;
    pthread_mutex_lock(&table_lock);
    for (b = table[bucket]; b && !(b->vaddr == vaddr && b->insns == insns); b = b->next) {
    }
    if (!b) {
        b = calloc(1, sizeof *b);
        if (b) {
            b->vaddr = vaddr;
            b->insns = insns;
            b->next = table[bucket];
            table[bucket] = b;
        }
    }
    pthread_mutex_unlock(&table_lock);
    return b;
}

static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    (void)id;
    struct block *b = block_for(qemu_plugin_tb_vaddr(tb), qemu_plugin_tb_n_insns(tb));
    if (b) {
        qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, &b->execs, 1);
    }
}

static void reset(void)
{
    for (unsigned i = 0; i < BUCKETS; i++) {
        for (struct block *b = table[i]; b; b = b->next) {
            b->execs = 0;
        }
    }
}

static void write_count(uint64_t ident)
{
    char path[4200], tmp[4300];
    uint64_t total = 0;
    snprintf(path, sizeof path, "%s/count-%d-%" PRIu64 ".txt", out_dir, (int)getpid(), ident);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        return; /* the guest finds no file and says so */
    }
    for (unsigned i = 0; i < BUCKETS; i++) {
        for (struct block *b = table[i]; b; b = b->next) {
            total += b->execs * b->insns;
        }
    }
    fprintf(f, "perfbot-icount 1\ntotal %" PRIu64 "\n", total);
    for (unsigned i = 0; i < BUCKETS; i++) {
        for (struct block *b = table[i]; b; b = b->next) {
            if (b->execs) {
                fprintf(f, "%" PRIx64 " %" PRIu64 " %" PRIu64 "\n", b->vaddr, b->insns, b->execs);
            }
        }
    }
    if (fclose(f) == 0) {
        rename(tmp, path);
    } else {
        unlink(tmp);
    }
}

static void on_syscall(qemu_plugin_id_t id, unsigned int vcpu_index, int64_t num, uint64_t a1, uint64_t a2,
                       uint64_t a3, uint64_t a4, uint64_t a5, uint64_t a6, uint64_t a7, uint64_t a8)
{
    (void)id, (void)vcpu_index, (void)a3, (void)a4, (void)a5, (void)a6, (void)a7, (void)a8;
    if (num != PERFBOT_MARKER) {
        return;
    }
    if (a1 == MARK_START) {
        reset();
    } else if (a1 == MARK_STOP) {
        write_count(a2);
    }
}

EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc, char **argv)
{
    (void)info;
    for (int i = 0; i < argc; i++) {
        if (strncmp(argv[i], "out=", 4) == 0) {
            snprintf(out_dir, sizeof out_dir, "%s", argv[i] + 4);
        } else {
            fprintf(stderr, "perfbot icount plugin: unknown argument %s (known: out=DIR)\n", argv[i]);
            return -1;
        }
    }
    qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
    qemu_plugin_register_vcpu_syscall_cb(id, on_syscall);
    return 0;
}
