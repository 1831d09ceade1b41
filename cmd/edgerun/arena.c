// See arena.go.
#include <malloc.h>

__attribute__((constructor)) static void edgerun_one_malloc_arena(void)
{
	mallopt(M_ARENA_MAX, 1);
}
