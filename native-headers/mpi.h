/*
 * mpi.h: the subset of the MPI C API that fullshard binds, as MPICH (>= 3.x, ABI soname
 * libmpich.so.12 / libmpi.so.12) lays it out. Written for fullshard from the MPI standard and
 * MPICH 4.0.2's mpi.h; bindings/.../Mpi.java mirrors this file one function to one downcall handle.
 *
 * MPICH ABI (not Open MPI's): handles are 32-bit ints, every function returns int (MPI_SUCCESS = 0).
 * Handle constants used by fullshard (MPICH 4.0.2, mirrored as constants in Mpi.java):
 *   MPI_COMM_WORLD     0x44000000
 *   MPI_FLOAT          0x4c00040a     MPI_DOUBLE        0x4c00080b
 *   MPI_INT            0x4c000405     MPI_LONG_LONG     0x4c000809   (= MPI_INT64_T's size; MPI_INT64_T 0x4c00083a)
 *   MPI_BYTE           0x4c00010d     MPI_UINT16_T      0x4c00023c
 *   MPI_SUM            0x58000003     MPI_MAX           0x58000001
 *   MPI_REQUEST_NULL   0x2c000000     MPI_ERRORS_RETURN 0x54000001
 *   MPI_THREAD_SINGLE 0, FUNNELED 1, SERIALIZED 2, MULTIPLE 3
 *   MPI_IN_PLACE       ((void*) -1)   MPI_STATUS_IGNORE ((MPI_Status*) 1)
 *   MPI_MAX_ERROR_STRING 512
 * Never reduce MPIX_C_FLOAT16 (0x4c000246) with MPICH 4.0.2: it aborts the process; reduce 16-bit
 * floats as float32.
 *
 * UCX_ERROR_SIGNALS= must be in the C environment before this library is loaded (Mpi.java sets it),
 * otherwise UCX takes over the JVM's SIGSEGV/SIGFPE handlers.
 */
typedef int MPI_Comm;
typedef int MPI_Datatype;
typedef int MPI_Op;
typedef int MPI_Request;

int MPI_Init_thread(int* argc, char*** argv, int required, int* provided);
int MPI_Initialized(int* flag);
int MPI_Finalized(int* flag);
int MPI_Comm_rank(MPI_Comm comm, int* rank);
int MPI_Comm_size(MPI_Comm comm, int* size);
int MPI_Comm_split(MPI_Comm comm, int color, int key, MPI_Comm* newcomm);  /* collective over comm */
int MPI_Comm_free(MPI_Comm* comm);
int MPI_Bcast(void* buffer, int count, MPI_Datatype datatype, int root, MPI_Comm comm);
int MPI_Test(MPI_Request* request, int* flag, void* status);  /* status: an MPI_Status* or MPI_STATUS_IGNORE */
/* The collectives are bound in their non-blocking form only: fullshard completes them with MPI_Test and
 * sleeps in between, because MPICH's blocking calls poll a core for as long as they wait. */
int MPI_Ibarrier(MPI_Comm comm, MPI_Request* request);
int MPI_Iallreduce(const void* sendbuf, void* recvbuf, int count, MPI_Datatype datatype, MPI_Op op, MPI_Comm comm,
                   MPI_Request* request);
int MPI_Ireduce_scatter_block(const void* sendbuf, void* recvbuf, int recvcount, MPI_Datatype datatype, MPI_Op op,
                              MPI_Comm comm, MPI_Request* request);
int MPI_Iallgather(const void* sendbuf, int sendcount, MPI_Datatype sendtype, void* recvbuf, int recvcount,
                   MPI_Datatype recvtype, MPI_Comm comm, MPI_Request* request);
int MPI_Abort(MPI_Comm comm, int errorcode);
int MPI_Finalize(void);
int MPI_Error_string(int errorcode, char* string, int* resultlen);  /* string: MPI_MAX_ERROR_STRING bytes */
