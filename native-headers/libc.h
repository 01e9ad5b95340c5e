/*
 * libc.h: the C library functions fullshard calls.
 */

int setenv(const char* name, const char* value, int overwrite);  /* thread counts must be set before libtorch loads */
int dup(int fd);                   /* returns a new descriptor owned by the caller */
int dup2(int fd, int target);      /* makes target refer to fd's file */
int mkstemp(char* path_template);  /* creates and opens a unique file; returns a descriptor owned by the caller */
int close(int fd);
