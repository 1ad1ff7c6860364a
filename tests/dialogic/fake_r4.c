/* A fake Dialogic R4 runtime for the tests: libsrl (events) and libdxxx (voice channels) with
 * the structures of dxxxlib.h on 64-bit Linux (C long = 8 bytes) and scripted telephone lines.
 * Built twice from this one file in the test run:
 *   cc -shared -fPIC -DFAKE_SRL  -o libsrl.so  fake_r4.c -lpthread
 *   cc -shared -fPIC -DFAKE_DXXX -o libdxxx.so fake_r4.c -L. -lsrl -Wl,-rpath,'$ORIGIN'
 * Time runs on the wall clock: a play of N bytes of 16-bit 8 kHz audio takes N/16000 s, and a
 * key pressed during it ends it (DX_MAXDTMF), as loop-current drop does (DX_LCOFF).
 * The test drives the lines with the fake_* functions. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct dx_iott {
    unsigned short io_type, rfu;
    int io_fhandle;
    char *io_bufp;
    unsigned long io_offset;
    long io_length;
    struct dx_iott *io_nextp, *io_prevp;
} DX_IOTT;
typedef struct dv_tpt {
    unsigned short tp_type, tp_termno, tp_length, tp_flags, tp_data, rfu;
    struct dv_tpt *tp_nextp;
} DV_TPT;
typedef struct { char dg_value[32]; char dg_type[32]; } DV_DIGIT;
typedef struct { unsigned short wFileFormat, wDataFormat; unsigned long nSamplesPerSec, wBitsPerSample; } DX_XPB;
typedef struct { unsigned short cst_event, cst_data; } DX_CST;
typedef struct { unsigned long sc_numts; long *sc_tsarrayp; } SC_TSINFO;

#define IO_CONT 0x01
#define IO_EOT 0x04
#define EV_ASYNC 0x8000
#define TM_MAXDTMF 0x1
#define TM_MAXSIL 0x2
#define TM_LCOFF 0x8
#define TM_IDDTIME 0x10
#define TM_MAXTIME 0x20
#define TM_DIGIT 0x40
#define TM_USRSTOP 0x100
#define TM_EOD 0x200
#define TDX_PLAY 0x81
#define TDX_RECORD 0x82
#define TDX_GETDIG 0x83
#define TDX_CST 0x86
#define TDX_SETHOOK 0x88
#define DE_RINGS 0x01
#define DE_LCOFF 0x03
#define DM_RINGS 0x0002
#define DM_LCOFF 0x0010
#define DXCH_CALLID 0x0816
#define DRT_8KHZ 0x30

#ifdef FAKE_SRL
/* ------------------------------------------------------------------ libsrl: the event queue */
typedef struct { long dev, type, len; DX_CST data; } event_t;
static event_t queue[256];
static int q_head, q_count;
static event_t current;
static pthread_mutex_t q_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t q_cond = PTHREAD_COND_INITIALIZER;
static void (*ticker)(void);

void fake_srl_set_ticker(void (*fn)(void)) { ticker = fn; }

void fake_srl_post(long dev, long type, unsigned short cst_event, unsigned short cst_data) {
    pthread_mutex_lock(&q_lock);
    if (q_count < 256) {
        event_t *e = &queue[(q_head + q_count++) % 256];
        e->dev = dev; e->type = type; e->len = type == TDX_CST ? sizeof(DX_CST) : 0;
        e->data.cst_event = cst_event; e->data.cst_data = cst_data;
    }
    pthread_cond_broadcast(&q_cond);
    pthread_mutex_unlock(&q_lock);
}

long sr_waitevt(long timeout_ms) {
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        if (ticker) ticker();
        pthread_mutex_lock(&q_lock);
        if (q_count) {
            current = queue[q_head];
            q_head = (q_head + 1) % 256; q_count--;
            pthread_mutex_unlock(&q_lock);
            return 0;
        }
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 5 * 1000000;
        if (until.tv_nsec >= 1000000000) { until.tv_sec++; until.tv_nsec -= 1000000000; }
        pthread_cond_timedwait(&q_cond, &q_lock, &until);
        pthread_mutex_unlock(&q_lock);
        clock_gettime(CLOCK_MONOTONIC, &now);
        long ms = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
        if (timeout_ms >= 0 && ms >= timeout_ms) return -1;
    }
}
long sr_getevtdev(void) { return current.dev; }
long sr_getevttype(void) { return current.type; }
long sr_getevtlen(void) { return current.len; }
void *sr_getevtdatap(void) { return &current.data; }
#endif

#ifdef FAKE_DXXX
/* ------------------------------------------------------------------ libdxxx: the channels */
void fake_srl_post(long dev, long type, unsigned short cst_event, unsigned short cst_data);
void fake_srl_set_ticker(void (*fn)(void));

enum { IDLE, PLAYING, RECORDING, GETDIG };
typedef struct {
    char name[32];
    int open, hook, evtmask, callid_on, lcoff;
    char callid[64], digits[64];
    double last_digit;
    unsigned char *played; size_t played_len;
    unsigned char *pending; size_t pending_len;  /* audio of the play in progress */
    unsigned char *speech; size_t speech_len;  /* what the caller says when recorded */
    int op, rec_fd; double op_start;
    int maxdtmf, lcoff_ends; unsigned digmask; double maxtime, iddtime, maxsil;
    long termmsk, lasterr; char errmsg[128];
    DV_DIGIT *digitp;
    long listen_slot;
} chan_t;
static chan_t chans[16];
static int nchans;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static const char *KEYS = "0123456789*#ABCD";

static double now_s(void) {
    struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}
static chan_t *by_dev(int dev) { return dev >= 1 && dev <= nchans ? &chans[dev - 1] : NULL; }
static chan_t *by_name(const char *name) {
    for (int i = 0; i < nchans; i++) if (!strcmp(chans[i].name, name)) return &chans[i];
    return NULL;
}
static void append(unsigned char **buf, size_t *len, const void *data, size_t n) {
    *buf = realloc(*buf, *len + n + 1);
    memcpy(*buf + *len, data, n); *len += n;
}
static int fail(chan_t *c, long code, const char *msg) {
    if (c) { c->lasterr = code; snprintf(c->errmsg, sizeof c->errmsg, "%s", msg); }
    return -1;
}
static void take_tpt(chan_t *c, DV_TPT *t) {
    c->maxdtmf = 0; c->digmask = 0; c->maxtime = 0; c->iddtime = 0; c->maxsil = 0; c->lcoff_ends = 0;
    for (; t; t = (t->tp_type & IO_EOT) ? NULL : ((t->tp_type & IO_CONT) ? t + 1 : t->tp_nextp)) {
        switch (t->tp_termno) {
        case 1: c->maxdtmf = t->tp_length; break;
        case 2: c->maxsil = t->tp_length / 10.0; break;
        case 4: c->lcoff_ends = 1; break;
        case 5: c->iddtime = t->tp_length / 10.0; break;
        case 6: c->maxtime = t->tp_length / 10.0; break;
        case 7: c->digmask = t->tp_length; break;
        }
    }
}
static int dev_of(chan_t *c) { return (int)(c - chans) + 1; }
static void finish(chan_t *c, long why) {
    int type = c->op == PLAYING ? TDX_PLAY : c->op == RECORDING ? TDX_RECORD : TDX_GETDIG;
    if (c->op == PLAYING) {  /* what was played until now reached the line */
        size_t n = why == TM_EOD ? c->pending_len
                 : (size_t)((now_s() - c->op_start) * 16000) & ~(size_t)1;
        if (n > c->pending_len) n = c->pending_len;
        append(&c->played, &c->played_len, c->pending, n);
        free(c->pending); c->pending = NULL; c->pending_len = 0;
    } else if (c->op == RECORDING) {
        size_t n = (size_t)((now_s() - c->op_start) * 16000) & ~(size_t)1;
        unsigned char *out = calloc(1, n + 1);
        memcpy(out, c->speech, n < c->speech_len ? n : c->speech_len);
        if (write(c->rec_fd, out, n) != (ssize_t)n) why |= 0;
        free(out);
    } else if (c->op == GETDIG) {
        size_t n = strlen(c->digits);
        if (c->maxdtmf && n > (size_t)c->maxdtmf) n = c->maxdtmf;
        for (size_t i = 0; i < strlen(c->digits); i++) {  /* up to and with a terminator */
            const char *k = strchr(KEYS, c->digits[i]);
            if (k && (c->digmask & (1u << (k - KEYS))) && i + 1 < n) n = i + 1;
        }
        memcpy(c->digitp->dg_value, c->digits, n); c->digitp->dg_value[n] = 0;
        memmove(c->digits, c->digits + n, strlen(c->digits) - n + 1);
    }
    c->termmsk = why; c->op = IDLE;
    fake_srl_post(dev_of(c), type, 0, 0);
}
static void check(chan_t *c) {  /* does the operation in progress end now? */
    if (c->op == IDLE) return;
    double t = now_s(), el = t - c->op_start;
    size_t nd = strlen(c->digits);
    if (c->lcoff && c->lcoff_ends) { finish(c, TM_LCOFF); return; }
    if (c->op == GETDIG) {
        for (size_t i = 0; i < nd; i++) {
            const char *k = strchr(KEYS, c->digits[i]);
            if (k && (c->digmask & (1u << (k - KEYS)))) { finish(c, TM_DIGIT); return; }
        }
        if (c->maxdtmf && nd >= (size_t)c->maxdtmf) { finish(c, TM_MAXDTMF); return; }
        if (nd && c->iddtime && t - c->last_digit >= c->iddtime) { finish(c, TM_IDDTIME); return; }
    } else {
        for (size_t i = 0; i < nd; i++) {
            const char *k = strchr(KEYS, c->digits[i]);
            if (k && (c->digmask & (1u << (k - KEYS)))) { finish(c, TM_DIGIT); return; }
        }
        if (c->maxdtmf && nd >= (size_t)c->maxdtmf) { finish(c, TM_MAXDTMF); return; }
    }
    if (c->op == PLAYING && el * 16000 >= c->pending_len) { finish(c, TM_EOD); return; }
    if (c->op == RECORDING && c->maxsil && el * 16000 >= c->speech_len + c->maxsil * 16000) {
        finish(c, TM_MAXSIL); return;
    }
    if (c->maxtime && el >= c->maxtime) { finish(c, TM_MAXTIME); return; }
}
static void tick(void) {
    pthread_mutex_lock(&lock);
    for (int i = 0; i < nchans; i++) check(&chans[i]);
    pthread_mutex_unlock(&lock);
}

int dx_open(const char *name, int flags) {
    int b, ch;
    (void)flags;
    if (sscanf(name, "dxxxB%dC%d", &b, &ch) != 2 || nchans >= 16) { errno = ENOENT; return -1; }
    pthread_mutex_lock(&lock);
    fake_srl_set_ticker(tick);
    chan_t *c = by_name(name);
    if (!c) { c = &chans[nchans++]; memset(c, 0, sizeof *c); snprintf(c->name, 32, "%s", name); c->listen_slot = -1; }
    c->open = 1;
    int dev = dev_of(c);
    pthread_mutex_unlock(&lock);
    return dev;
}
int dx_close(int dev) { chan_t *c = by_dev(dev); if (!c) return -1; c->open = 0; return 0; }
int dx_setevtmsk(int dev, unsigned int mask) { chan_t *c = by_dev(dev); if (!c) return -1; c->evtmask = mask; return 0; }
int dx_setparm(int dev, unsigned long parm, void *valuep) {
    chan_t *c = by_dev(dev);
    if (!c) return -1;
    if (parm == DXCH_CALLID) c->callid_on = *(int *)valuep;
    return 0;
}
int dx_gtcallid(int dev, char *buf) {
    chan_t *c = by_dev(dev);
    if (!c || !c->callid_on) return fail(c, 0x10, "caller ID not enabled");
    if (!c->callid[0]) return fail(c, 0x11, "no caller ID");
    strcpy(buf, c->callid);
    return 0;
}
int dx_sethook(int dev, int state, unsigned short mode) {
    chan_t *c = by_dev(dev);
    if (!c || !c->open) return fail(c, 0x01, "channel not open");
    pthread_mutex_lock(&lock);
    c->hook = state;
    if (state == 1) { c->lcoff = 0; c->digits[0] = 0; }
    pthread_mutex_unlock(&lock);
    if (mode & EV_ASYNC) fake_srl_post(dev, TDX_SETHOOK, 0, 0);
    return 0;
}
int dx_wtring(int dev, int rings, int hook, int timeout) { (void)dev; (void)rings; (void)hook; (void)timeout; return -1; }

static int start(int dev, int op, DV_TPT *tpt, unsigned short mode, chan_t **out) {
    chan_t *c = by_dev(dev);
    if (!c || !c->open) return fail(c, 0x01, "channel not open");
    if (!(mode & EV_ASYNC)) return fail(c, 0x02, "the fake runs asynchronous calls only");
    if (c->op != IDLE) return fail(c, 0x03, "channel busy");
    take_tpt(c, tpt);
    c->op = op; c->op_start = now_s();
    *out = c;
    return 0;
}
int dx_playiottdata(int dev, DX_IOTT *iott, DV_TPT *tpt, DX_XPB *xpb, unsigned short mode) {
    chan_t *c;
    if (!xpb || xpb->nSamplesPerSec != DRT_8KHZ || xpb->wBitsPerSample != 16)
        return fail(by_dev(dev), 0x04, "only 8 kHz 16-bit PCM in this fake");
    pthread_mutex_lock(&lock);
    if (start(dev, PLAYING, tpt, mode, &c)) { pthread_mutex_unlock(&lock); return -1; }
    for (DX_IOTT *p = iott; p; p = (p->io_type & IO_EOT) ? NULL : ((p->io_type & IO_CONT) ? p + 1 : p->io_nextp)) {
        unsigned char buf[4096];
        long left = p->io_length;
        if (lseek(p->io_fhandle, (off_t)p->io_offset, SEEK_SET) < 0) { c->op = IDLE; pthread_mutex_unlock(&lock); return fail(c, 0x05, "bad file"); }
        for (;;) {
            size_t want = left < 0 || left > (long)sizeof buf ? sizeof buf : (size_t)left;
            if (!want) break;
            ssize_t n = read(p->io_fhandle, buf, want);
            if (n <= 0) break;
            append(&c->pending, &c->pending_len, buf, (size_t)n);
            if (left > 0) left -= n;
        }
    }
    check(c);
    pthread_mutex_unlock(&lock);
    return 0;
}
int dx_reciottdata(int dev, DX_IOTT *iott, DV_TPT *tpt, DX_XPB *xpb, unsigned short mode) {
    chan_t *c;
    if (!xpb || xpb->nSamplesPerSec != DRT_8KHZ || xpb->wBitsPerSample != 16)
        return fail(by_dev(dev), 0x04, "only 8 kHz 16-bit PCM in this fake");
    pthread_mutex_lock(&lock);
    if (start(dev, RECORDING, tpt, mode, &c)) { pthread_mutex_unlock(&lock); return -1; }
    c->rec_fd = iott->io_fhandle;
    check(c);
    pthread_mutex_unlock(&lock);
    return 0;
}
int dx_getdig(int dev, DV_TPT *tpt, DV_DIGIT *digitp, unsigned short mode) {
    chan_t *c;
    pthread_mutex_lock(&lock);
    if (start(dev, GETDIG, tpt, mode, &c)) { pthread_mutex_unlock(&lock); return -1; }
    c->digitp = digitp;
    c->last_digit = now_s();
    check(c);
    pthread_mutex_unlock(&lock);
    return 0;
}
int dx_clrdigbuf(int dev) { chan_t *c = by_dev(dev); if (!c) return -1; c->digits[0] = 0; return 0; }
int dx_stopch(int dev, unsigned short mode) {
    chan_t *c = by_dev(dev);
    (void)mode;
    if (!c) return -1;
    pthread_mutex_lock(&lock);
    if (c->op != IDLE) finish(c, TM_USRSTOP);
    pthread_mutex_unlock(&lock);
    return 0;
}
int dx_getxmitslot(int dev, SC_TSINFO *ts) {
    chan_t *c = by_dev(dev);
    if (!c || ts->sc_numts != 1) return fail(c, 0x06, "one time slot expected");
    ts->sc_tsarrayp[0] = 100 + dev;
    return 0;
}
int dx_listen(int dev, SC_TSINFO *ts) {
    chan_t *c = by_dev(dev);
    if (!c || ts->sc_numts != 1) return fail(c, 0x06, "one time slot expected");
    c->listen_slot = ts->sc_tsarrayp[0];
    return 0;
}
int dx_unlisten(int dev) { chan_t *c = by_dev(dev); if (!c) return -1; c->listen_slot = -1; return 0; }
long ATDX_TERMMSK(int dev) { chan_t *c = by_dev(dev); return c ? c->termmsk : -1; }
long ATDV_LASTERR(int dev) { chan_t *c = by_dev(dev); return c ? c->lasterr : 0x100; }
char *ATDV_ERRMSGP(int dev) { chan_t *c = by_dev(dev); return c ? c->errmsg : "no such device"; }

/* ------------------------------------------------------------------ the test's hands */
int fake_ring(const char *name, const char *callid, int rings) {
    chan_t *c = by_name(name);
    if (!c) return -1;
    pthread_mutex_lock(&lock);
    snprintf(c->callid, sizeof c->callid, "%s", callid);
    pthread_mutex_unlock(&lock);
    for (int i = 0; i < rings; i++)
        if (c->evtmask & DM_RINGS) fake_srl_post(dev_of(c), TDX_CST, DE_RINGS, (unsigned short)(i + 1));
    return 0;
}
int fake_press(const char *name, const char *digits) {
    chan_t *c = by_name(name);
    if (!c) return -1;
    pthread_mutex_lock(&lock);
    strncat(c->digits, digits, sizeof c->digits - strlen(c->digits) - 1);
    c->last_digit = now_s();
    check(c);
    pthread_mutex_unlock(&lock);
    return 0;
}
int fake_hangup(const char *name) {
    chan_t *c = by_name(name);
    if (!c) return -1;
    pthread_mutex_lock(&lock);
    c->lcoff = 1;
    check(c);
    pthread_mutex_unlock(&lock);
    if (c->evtmask & DM_LCOFF) fake_srl_post(dev_of(c), TDX_CST, DE_LCOFF, 0);
    return 0;
}
int fake_set_speech(const char *name, const unsigned char *pcm, size_t n) {
    chan_t *c = by_name(name);
    if (!c) return -1;
    pthread_mutex_lock(&lock);
    free(c->speech); c->speech = malloc(n + 1); memcpy(c->speech, pcm, n); c->speech_len = n;
    pthread_mutex_unlock(&lock);
    return 0;
}
long fake_played(const char *name, unsigned char *buf, size_t cap) {
    chan_t *c = by_name(name);
    if (!c) return -1;
    pthread_mutex_lock(&lock);
    size_t n = c->played_len < cap ? c->played_len : cap;
    if (buf) memcpy(buf, c->played, n);
    pthread_mutex_unlock(&lock);
    return (long)c->played_len;
}
int fake_hook(const char *name) { chan_t *c = by_name(name); return c ? c->hook : -1; }
long fake_listening(const char *name) { chan_t *c = by_name(name); return c ? c->listen_slot : -2; }
#endif
