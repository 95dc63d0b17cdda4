/*
 * dmamap: user-space half of mvf_dmacheck's mmap check
 * (tests/e2e/modules/mvf_dmacheck).  Maps the module's coherent buffer
 * (dma_mmap_coherent), writes pattern A through the mapping and has the
 * device read and check it ("todev A"), then has the device write pattern B
 * ("fromdev B") and checks it through the mapping.
 *
 *   dmamap FILE SIZE      exit status 0 if both directions matched
 *
 * The pattern is the module's pat(): byte i of seed s is
 * i * 131 + s * 29 + (i >> 9) + 1 (mod 256).
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static uint8_t pat(uint32_t seed, uint64_t i)
{
    return (uint8_t)(i * 131 + seed * 29 + (i >> 9) + 1);
}

static int command(int fd, const char *cmd)
{
    ssize_t n = write(fd, cmd, strlen(cmd));

    if (n != (ssize_t)strlen(cmd)) {
        perror(cmd);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    const uint32_t a = 11, b = 12;
    size_t size, i;
    uint8_t *p;
    int fd;

    if (argc != 3) {
        fprintf(stderr, "usage: dmamap FILE SIZE\n");
        return 2;
    }
    size = strtoul(argv[2], NULL, 0);
    fd = open(argv[1], O_RDWR);
    if (fd < 0) {
        perror(argv[1]);
        return 1;
    }
    p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    for (i = 0; i < size; i++)
        p[i] = pat(a, i);
    if (command(fd, "todev 11"))
        return 1;
    if (command(fd, "fromdev 12"))
        return 1;
    for (i = 0; i < size; i++)
        if (p[i] != pat(b, i)) {
            fprintf(stderr, "dmamap: byte %zu reads 0x%02x through the mapping, expected 0x%02x\n",
                    i, p[i], pat(b, i));
            return 1;
        }
    /* a mapping larger than the buffer must be refused */
    if (mmap(NULL, size * 2, PROT_READ, MAP_SHARED, fd, 0) != MAP_FAILED) {
        fprintf(stderr, "dmamap: a mapping of twice the buffer was allowed\n");
        return 1;
    }
    printf("dmamap: %zu bytes both ways through the user mapping\n", size);
    return 0;
}
