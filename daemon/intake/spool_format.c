#include "spool_format.h"

#include <errno.h>
#include <string.h>
#include <zlib.h>

static const char seg_magic[8] = {'A', 'P', 'D', 'S', 'P', 'L', '0', '2'};
static const unsigned char nul_byte[1] = {0};

static void put_u16(unsigned char *p, uint16_t v) { memcpy(p, &v, 2); }
static void put_u32(unsigned char *p, uint32_t v) { memcpy(p, &v, 4); }
static void put_u64(unsigned char *p, uint64_t v) { memcpy(p, &v, 8); }
static uint16_t get_u16(const unsigned char *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static uint32_t get_u32(const unsigned char *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t get_u64(const unsigned char *p) { uint64_t v; memcpy(&v, p, 8); return v; }

static uLong crc_seed(uint64_t salt)
{
    unsigned char s[8];
    put_u64(s, salt);
    return crc32(0, s, sizeof(s));
}

void spool_seg_header_encode(unsigned char out[SPOOL_SEG_HDR], uint64_t seq, uint64_t salt)
{
    memcpy(out, seg_magic, 8);
    put_u64(out + 8, seq);
    put_u64(out + 16, salt);
    put_u32(out + 24, (uint32_t)crc32(0, out, 24));
    put_u32(out + 28, 0);
}

int spool_seg_header_decode(const void *buf, size_t len, uint64_t *seq, uint64_t *salt)
{
    const unsigned char *p = buf;
    if (len < SPOOL_SEG_HDR || memcmp(p, seg_magic, 8) != 0 ||
        get_u32(p + 24) != (uint32_t)crc32(0, p, 24))
        return -1;
    *seq = get_u64(p + 8);
    *salt = get_u64(p + 16);
    return 0;
}

uint64_t spool_rec_size(size_t source_len, size_t path_len, size_t body_len)
{
    return (uint64_t)SPOOL_REC_HDR + source_len + 1 + path_len + 1 + body_len + 1;
}

int spool_rec_encode(struct spool_enc *e, uint64_t salt, uint64_t id, int64_t received_ms,
                     const char *source, const char *path, const char *body, size_t body_len)
{
    size_t sl = strlen(source), pl = strlen(path);
    if (sl > UINT16_MAX || pl > UINT16_MAX || spool_rec_size(sl, pl, body_len) > SPOOL_REC_MAX)
        return -EMSGSIZE;
    e->total = (uint32_t)spool_rec_size(sl, pl, body_len);
    unsigned char *h = e->hdr;
    put_u32(h, SPOOL_REC_MAGIC);
    put_u32(h + 4, e->total);
    put_u32(h + 12, 0);
    put_u64(h + 16, id);
    put_u64(h + 24, (uint64_t)received_ms);
    put_u16(h + 32, (uint16_t)sl);
    put_u16(h + 34, (uint16_t)pl);
    put_u32(h + 36, (uint32_t)body_len);
    e->iov[0] = (struct iovec){h, SPOOL_REC_HDR};
    e->iov[1] = (struct iovec){(void *)source, sl + 1};
    e->iov[2] = (struct iovec){(void *)path, pl + 1};
    e->iov[3] = (struct iovec){(void *)body, body_len};
    e->iov[4] = (struct iovec){(void *)nul_byte, 1};
    e->iovcnt = 5;
    uLong crc = crc32(crc_seed(salt), h + 12, SPOOL_REC_HDR - 12);
    for (int i = 1; i < e->iovcnt; i++)
        if (e->iov[i].iov_len)
            crc = crc32(crc, e->iov[i].iov_base, (uInt)e->iov[i].iov_len);
    put_u32(h + 8, (uint32_t)crc);
    return 0;
}

long spool_rec_decode(const void *buf, size_t len, uint64_t salt, struct spool_rec *rec)
{
    const unsigned char *p = buf;
    if (len < 8)
        return 0;
    if (get_u32(p) != SPOOL_REC_MAGIC)
        return -1;
    uint32_t total = get_u32(p + 4);
    if (total < spool_rec_size(0, 0, 0) || total > SPOOL_REC_MAX)
        return -1;
    if (len < total)
        return 0;
    uint16_t sl = get_u16(p + 32), pl = get_u16(p + 34);
    uint32_t bl = get_u32(p + 36);
    if (spool_rec_size(sl, pl, bl) != total)
        return -1;
    uLong crc = crc32(crc_seed(salt), p + 12, total - 12);
    if ((uint32_t)crc != get_u32(p + 8))
        return -1;
    const char *s = (const char *)p + SPOOL_REC_HDR;
    if (s[sl] != '\0' || s[sl + 1 + pl] != '\0' || s[sl + 1 + pl + 1 + bl] != '\0')
        return -1;
    rec->id = get_u64(p + 16);
    rec->received_ms = (int64_t)get_u64(p + 24);
    rec->source = s;
    rec->path = s + sl + 1;
    rec->body = s + sl + 1 + pl + 1;
    rec->body_len = bl;
    return (long)total;
}

void spool_ack_encode(unsigned char out[SPOOL_ACK_ENTRY], uint32_t idx)
{
    put_u32(out, idx);
    put_u32(out + 4, ~idx);
}

bool spool_ack_decode(const unsigned char in[SPOOL_ACK_ENTRY], uint32_t *idx)
{
    uint32_t a = get_u32(in), b = get_u32(in + 4);
    if (a != ~b)
        return false;
    *idx = a;
    return true;
}
