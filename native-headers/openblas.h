/*
 * openblas.h: the OpenBLAS functions fullshard calls, in the libopenblas.so.0 that the bundled libtorch
 * build loads (TorchLibrary loads it by path; other libtorch builds use MKL and have none).
 * Written for fullshard from OpenBLAS's documentation.
 */

void openblas_set_num_threads(int num_threads);  /* threads of the BLAS calls that follow, process-wide */
int openblas_get_num_threads(void);
