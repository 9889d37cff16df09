/* ProcessPrng for wine 8, which lacks it: Rust's standard library (1.78 and later) takes its
 * random bytes from bcryptprimitives.dll!ProcessPrng on Windows. Only for running the tests
 * under wine; Windows has the real one. The same workaround as mozilla/glean PR #2823. */
#include <windows.h>
#include <bcrypt.h>

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
    return BCryptGenRandom(NULL, data, (ULONG)len, BCRYPT_USE_SYSTEM_PREFERRED_RNG) == 0;
}
