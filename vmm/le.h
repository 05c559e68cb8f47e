/*
 * Little-endian loads and stores at any alignment: guest-visible layouts
 * (virtio and PCI registers, descriptors, ACPI tables, boot images).
 * Byte by byte, so they need no libc and hold on any host byte order.
 */
#ifndef KVMINI_LE_H
#define KVMINI_LE_H

#include <stdint.h>

static inline uint16_t get_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static inline uint64_t get_le64(const uint8_t *p)
{
	return get_le32(p) | (uint64_t)get_le32(p + 4) << 32;
}

static inline void put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void put_le32(uint8_t *p, uint32_t v)
{
	put_le16(p, (uint16_t)v);
	put_le16(p + 2, (uint16_t)(v >> 16));
}

static inline void put_le64(uint8_t *p, uint64_t v)
{
	put_le32(p, (uint32_t)v);
	put_le32(p + 4, (uint32_t)(v >> 32));
}

/* A field of @len bytes (register accesses of 1 to 8 bytes); bytes past 8 read as 0. */
static inline uint64_t get_le(const uint8_t *p, unsigned int len)
{
	uint64_t v = 0;

	for (unsigned int i = 0; i < len && i < 8; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

/* Bytes past 8 are written as 0. */
static inline void put_le(uint8_t *p, uint64_t v, unsigned int len)
{
	for (unsigned int i = 0; i < len; i++)
		p[i] = i < 8 ? (uint8_t)(v >> (8 * i)) : 0;
}

#endif
