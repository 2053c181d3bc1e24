/* Zip skill packs. */
#include "pack.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* only what libarchive takes for a zip: the rest is the tar
	 * harness's */
	if (size < 2 || data[0] != 'P' || data[1] != 'K')
		return 0;
	return install(data, size);
}
