/* The spool's on-disk format: segment headers, records and release entries.
 *
 * Everything is little endian (the spool never leaves the host that wrote it).
 *
 * Segment file NNNNNNNNNNNNNNNN.seg (16 hex digits = the segment's sequence):
 *   header, SPOOL_SEG_HDR bytes:
 *     "APDSPL02" | u64 seq | u64 salt | u32 crc32 of the 24 bytes before | u32 0
 *   then records, back to back.
 *
 * Record:
 *   u32 magic "APD1" | u32 total length | u32 crc | u32 flags (0)
 *   u64 id | i64 received_ms | u16 source len | u16 path len | u32 body len
 *   source NUL | path NUL | body NUL
 * The crc covers the segment's random salt and then every byte of the record
 * after the crc field.  The salt makes a record valid only in its own segment:
 * when the reader resynchronises after damage it cannot mistake bytes inside
 * a webhook body (which an outsider chose) for a record.
 * The id is (segment seq << 32) | record index; indexes increase by one.
 *
 * Release log NNNNNNNNNNNNNNNN.ack: 8-byte entries, u32 index | u32 ~index.
 * The complement rejects the zero-filled tail a crash can leave behind. */
#ifndef APPEALSD_SPOOL_FORMAT_H
#define APPEALSD_SPOOL_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "spool.h"

#define SPOOL_SEG_HDR 32
#define SPOOL_REC_HDR 40
#define SPOOL_REC_MAGIC 0x31445041u        /* "APD1" */
#define SPOOL_REC_MAX (1u << 30)           /* largest record the reader accepts */
#define SPOOL_ACK_ENTRY 8

void spool_seg_header_encode(unsigned char out[SPOOL_SEG_HDR], uint64_t seq, uint64_t salt);
/* 0 and *seq, *salt filled, or -1 when the header is not intact. */
int spool_seg_header_decode(const void *buf, size_t len, uint64_t *seq, uint64_t *salt);

/* A record ready for pwritev: header plus borrowed views of the strings. */
struct spool_enc {
    unsigned char hdr[SPOOL_REC_HDR];
    struct iovec iov[5];
    int iovcnt;
    uint32_t total;
};

/**
 * @brief Lay out one record for writing without copying the body.
 * @param source, path  NUL-terminated; borrowed until the write is done.
 * @param body          borrowed until the write is done; need not be terminated.
 * @returns 0, or -EMSGSIZE when a part exceeds what the format can hold.
 */
int spool_rec_encode(struct spool_enc *e, uint64_t salt, uint64_t id, int64_t received_ms,
                     const char *source, const char *path, const char *body, size_t body_len);

/**
 * @brief Check and decode one record at the start of buf.
 * @returns its total length, 0 when buf holds only the beginning of a record,
 *          -1 when the bytes are not an intact record of the segment with this salt.
 *          rec's strings point into buf.
 */
long spool_rec_decode(const void *buf, size_t len, uint64_t salt, struct spool_rec *rec);

/* Total length a record of these parts occupies. */
uint64_t spool_rec_size(size_t source_len, size_t path_len, size_t body_len);

void spool_ack_encode(unsigned char out[SPOOL_ACK_ENTRY], uint32_t idx);
/* true and *idx filled when the entry is intact. */
bool spool_ack_decode(const unsigned char in[SPOOL_ACK_ENTRY], uint32_t *idx);

#endif
