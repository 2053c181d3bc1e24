/* Tar skill packs, plain or compressed (gzip, bzip2, xz, zstd). */
#include "pack.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* zip has its own harness and corpus */
	if (size >= 2 && data[0] == 'P' && data[1] == 'K')
		return 0;
	return install(data, size);
}
