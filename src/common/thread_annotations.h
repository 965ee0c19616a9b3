// Clang thread-safety annotations (checked with -Wthread-safety when built
// with clang; CI does). They turn "guarded by mu_" comments into rules the
// compiler enforces: a GUARDED_BY field touched without its mutex held, or a
// REQUIRES function called without it, is a compile error in CI.
// With other compilers they expand to nothing.
#pragma once

#if defined(__clang__)
#define SENTRY_TSA(x) __attribute__((x))
#else
#define SENTRY_TSA(x)
#endif

#define CAPABILITY(x) SENTRY_TSA(capability(x))
#define SCOPED_CAPABILITY SENTRY_TSA(scoped_lockable)
#define GUARDED_BY(x) SENTRY_TSA(guarded_by(x))
#define PT_GUARDED_BY(x) SENTRY_TSA(pt_guarded_by(x))
#define REQUIRES(...) SENTRY_TSA(requires_capability(__VA_ARGS__))
#define REQUIRES_SHARED(...) SENTRY_TSA(requires_shared_capability(__VA_ARGS__))
#define EXCLUDES(...) SENTRY_TSA(locks_excluded(__VA_ARGS__))
#define ACQUIRE(...) SENTRY_TSA(acquire_capability(__VA_ARGS__))
#define ACQUIRE_SHARED(...) SENTRY_TSA(acquire_shared_capability(__VA_ARGS__))
#define RELEASE(...) SENTRY_TSA(release_capability(__VA_ARGS__))
#define RELEASE_SHARED(...) SENTRY_TSA(release_shared_capability(__VA_ARGS__))
#define RELEASE_GENERIC(...) SENTRY_TSA(release_generic_capability(__VA_ARGS__))
#define NO_THREAD_SAFETY_ANALYSIS SENTRY_TSA(no_thread_safety_analysis)
#define RETURN_CAPABILITY(x) SENTRY_TSA(lock_returned(x))
