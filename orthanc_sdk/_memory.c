/* orthanc_sdk._memory: the buffer-protocol base of orthanc_sdk.Buffer, and
 * the C path of the hot Context calls.
 *
 * Python 3.11 has no Python-level buffer protocol, so zero-copy access to
 * memory that Orthanc allocated needs a C type.  OwnedMemory exports a
 * read-only view of (data, size) and gives the memory back exactly once:
 * on release(), or on deallocation as a backstop.  While a view is
 * exported, release() raises BufferError; deallocation cannot happen then,
 * because every view holds a reference.  The memory goes back one of two
 * ways: an OrthancPluginMemoryBuffer kept inline and freed through the
 * CallGuard it came from (the Context's answers), or a Python "releaser"
 * called once (_attach, for memory from elsewhere).
 *
 * CallGuard holds the OrthancPluginContext * and counts the SDK calls in
 * flight, so that closing the Context can wait for them.  Entering and
 * leaving happen under the GIL, which makes them atomic without a lock of
 * their own.  Two steps end a context: closed (SDK calls are refused, but
 * frees and logging still reach the core, which is alive) and detached
 * (nothing reaches the core any more: memory still owned then is left to
 * the process's exit).  Its methods make the hot SDK calls themselves,
 * with the GIL released around the call only: other Python threads run
 * meanwhile, and the call may re-enter Python through a plugin's route.
 * Bad arguments and error codes go back to Python (the hooks that _setup
 * receives from orthanc_sdk.context), which raises the exceptions that the
 * rest of the binding raises.
 *
 * Copyright (C) the orthanc_sdk authors.  GPL-3.0-or-later.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <orthanc/OrthancCPlugin.h>

/* Answers at least this large are freed with the GIL released. */
#define FREE_WITHOUT_GIL ((uint32_t)1 << 20)

/* What _setup received: the Buffer class that answers are made of, the
 * exception a closed context raises, and the Python functions that raise
 * the binding's errors (or return a checked value). */
static PyTypeObject *buffer_type;
static PyObject *closed_error;
static PyObject *fail_hook;             /* (pointer, code, function, detail) */
static PyObject *encode_hook;           /* (value, what) -> bytes */
static PyObject *property_hook;         /* (value) -> int32 */
static PyObject *plugin_property_hook;  /* (value) -> int32 >= 1024 */

static const char closed_message[] =
    "Orthanc is stopping: the plugin can no longer call the SDK";

/* ---- CallGuard ----------------------------------------------------------- */

typedef struct {
    PyObject_HEAD
    OrthancPluginContext *context;
    PyObject *pointer;          /* the cffi pointer, for the error hook */
    Py_ssize_t busy;            /* calls in flight */
    int closed;
    int detached;
    /* How many times busy fell to zero once closed: what close() waits for
     * with the GIL released.  Written under the GIL and idle_lock, read
     * under either. */
    unsigned long idle_count;
    pthread_mutex_t idle_lock;
    pthread_cond_t idle_cond;
    int sync_ready;
} CallGuard;

static int
guard_enter(CallGuard *self, int while_closed)
{
    if (self->detached || (self->closed && !while_closed)) {
        return -1;
    }
    self->busy++;
    return 0;
}

static int
guard_enter_or_raise(CallGuard *self)
{
    if (guard_enter(self, 0) < 0) {
        PyErr_SetString(closed_error, closed_message);
        return -1;
    }
    return 0;
}

static void
guard_leave(CallGuard *self)
{
    self->busy--;
    if (self->busy != 0 || !self->closed) {
        return;
    }
    /* Only once closing does leaving take a lock.  A default mutex fails
     * to lock only when misused; the closer would then time out. */
    if (pthread_mutex_lock(&self->idle_lock) == 0) {
        self->idle_count++;
        (void)pthread_cond_broadcast(&self->idle_cond);
        (void)pthread_mutex_unlock(&self->idle_lock);
    }
}

static PyObject *
CallGuard_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    PyObject *pointer;
    unsigned long long address;
    pthread_condattr_t attributes;
    CallGuard *self;

    if (kwargs != NULL && PyDict_GET_SIZE(kwargs) != 0) {
        PyErr_SetString(PyExc_TypeError, "CallGuard() takes no keywords");
        return NULL;
    }
    if (!PyArg_ParseTuple(args, "OK:CallGuard", &pointer, &address)) {
        return NULL;
    }
    if (buffer_type == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "orthanc_sdk._memory is not set up");
        return NULL;
    }
    if (address == 0) {
        PyErr_SetString(PyExc_ValueError, "the context address is NULL");
        return NULL;
    }
    self = (CallGuard *)type->tp_alloc(type, 0);
    if (self == NULL) {
        return NULL;
    }
    self->context = (OrthancPluginContext *)(uintptr_t)address;
    Py_INCREF(pointer);
    self->pointer = pointer;
    if (pthread_condattr_init(&attributes) != 0) {
        goto error;
    }
    /* The monotonic clock: a change of the wall clock must not stretch or
     * cut the timeout of close(). */
    if (pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC) != 0
        || pthread_cond_init(&self->idle_cond, &attributes) != 0) {
        (void)pthread_condattr_destroy(&attributes);
        goto error;
    }
    (void)pthread_condattr_destroy(&attributes);
    if (pthread_mutex_init(&self->idle_lock, NULL) != 0) {
        (void)pthread_cond_destroy(&self->idle_cond);
        goto error;
    }
    self->sync_ready = 1;
    return (PyObject *)self;

error:
    PyErr_SetString(PyExc_OSError, "cannot create the call guard's condition");
    Py_DECREF(self);
    return NULL;
}

static void
CallGuard_dealloc(CallGuard *self)
{
    if (self->sync_ready) {
        (void)pthread_cond_destroy(&self->idle_cond);
        (void)pthread_mutex_destroy(&self->idle_lock);
    }
    Py_XDECREF(self->pointer);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *
CallGuard_enter(CallGuard *self, PyObject *Py_UNUSED(ignored))
{
    if (guard_enter_or_raise(self) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *
CallGuard_enter_while_closed(CallGuard *self, PyObject *Py_UNUSED(ignored))
{
    return PyBool_FromLong(guard_enter(self, 1) == 0);
}

static PyObject *
CallGuard_leave(CallGuard *self, PyObject *Py_UNUSED(ignored))
{
    if (self->busy <= 0) {
        PyErr_SetString(PyExc_RuntimeError, "leave() without enter()");
        return NULL;
    }
    guard_leave(self);
    Py_RETURN_NONE;
}

/* Wait, with the GIL released, until busy falls to zero once after start;
 * 0 when it did, ETIMEDOUT, or another error number.  A NULL deadline
 * waits for ever. */
static int
wait_idle(CallGuard *self, unsigned long start, const struct timespec *deadline)
{
    int status;

    status = pthread_mutex_lock(&self->idle_lock);
    if (status != 0) {
        return status;
    }
    while (self->idle_count == start && status == 0) {
        if (deadline == NULL) {
            status = pthread_cond_wait(&self->idle_cond, &self->idle_lock);
        }
        else {
            status = pthread_cond_timedwait(&self->idle_cond, &self->idle_lock,
                                            deadline);
        }
    }
    (void)pthread_mutex_unlock(&self->idle_lock);
    return status;
}

static PyObject *
CallGuard_close(CallGuard *self, PyObject *args)
{
    PyObject *timeout;
    int detach, status;
    double seconds = 0.0;
    unsigned long start;
    struct timespec deadline;

    if (!PyArg_ParseTuple(args, "Op:close", &timeout, &detach)) {
        return NULL;
    }
    if (timeout != Py_None) {
        seconds = PyFloat_AsDouble(timeout);
        if (seconds == -1.0 && PyErr_Occurred()) {
            return NULL;
        }
        if (isnan(seconds)) {
            PyErr_SetString(PyExc_ValueError, "timeout must not be NaN");
            return NULL;
        }
    }
    self->closed = 1;
    self->detached = self->detached || detach;
    if (self->busy == 0) {
        Py_RETURN_TRUE;
    }
    if (clock_gettime(CLOCK_MONOTONIC, &deadline) != 0) {
        return PyErr_SetFromErrno(PyExc_OSError);
    }
    /* As threading.Event.wait: a negative timeout does not wait; a year
     * stands for "for ever" without overflowing time_t. */
    seconds = seconds < 0.0 ? 0.0 : (seconds > 3.2e7 ? 3.2e7 : seconds);
    deadline.tv_sec += (time_t)seconds;
    deadline.tv_nsec += (long)((seconds - (double)(time_t)seconds) * 1e9);
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    /* Read under the GIL, which every writer holds.  Unlike
     * threading.Event.wait, the wait below is not cut short by a signal
     * (KeyboardInterrupt): the timeout bounds it. */
    start = self->idle_count;
    Py_BEGIN_ALLOW_THREADS
    status = wait_idle(self, start, timeout == Py_None ? NULL : &deadline);
    Py_END_ALLOW_THREADS
    if (status == ETIMEDOUT) {
        Py_RETURN_FALSE;
    }
    if (status != 0) {
        errno = status;
        return PyErr_SetFromErrno(PyExc_OSError);
    }
    Py_RETURN_TRUE;
}

static PyObject *
CallGuard_get_closed(CallGuard *self, void *Py_UNUSED(closure))
{
    return PyBool_FromLong(self->closed);
}

static PyObject *
CallGuard_get_detached(CallGuard *self, void *Py_UNUSED(closure))
{
    return PyBool_FromLong(self->detached);
}

static PyObject *
CallGuard_get_busy(CallGuard *self, void *Py_UNUSED(closure))
{
    return PyLong_FromSsize_t(self->busy);
}

/* ---- OwnedMemory --------------------------------------------------------- */

typedef struct {
    PyObject_HEAD
    char *data;
    Py_ssize_t size;
    Py_ssize_t exports;
    PyObject *releaser;   /* NULL once released, or when never attached */
    int released;
    PyObject *weakrefs;
    CallGuard *guard;     /* set: owned goes back through its context */
    OrthancPluginMemoryBuffer owned;
} OwnedMemory;

/* An empty answer from Orthanc is (NULL, 0); consumers of a Py_buffer are
 * entitled to a valid pointer, so an empty view points here instead. */
static char empty_data[1];

static int
give_back(OwnedMemory *self)
{
    PyObject *releaser = self->releaser;
    CallGuard *guard = self->guard;
    PyObject *result;

    self->releaser = NULL;
    self->guard = NULL;
    self->data = NULL;
    self->size = 0;
    self->released = 1;
    if (guard != NULL) {
        /* Once detached, the context's Free may be gone with the core: the
         * memory is left to the process's exit. */
        if (guard_enter(guard, 1) == 0) {
            if (self->owned.size >= FREE_WITHOUT_GIL) {
                /* Unmapping a large block takes milliseconds (about 10 ms
                 * for 100 MiB here): other threads run meanwhile.  The
                 * Buffer already reads as released. */
                Py_BEGIN_ALLOW_THREADS
                OrthancPluginFreeMemoryBuffer(guard->context, &self->owned);
                Py_END_ALLOW_THREADS
            }
            else {
                OrthancPluginFreeMemoryBuffer(guard->context, &self->owned);
            }
            guard_leave(guard);
        }
        self->owned.data = NULL;
        self->owned.size = 0;
        Py_DECREF(guard);
        return 0;
    }
    if (releaser == NULL) {
        return 0;
    }
    result = PyObject_CallNoArgs(releaser);
    Py_DECREF(releaser);
    if (result == NULL) {
        return -1;
    }
    Py_DECREF(result);
    return 0;
}

static int
OwnedMemory_getbuffer(OwnedMemory *self, Py_buffer *view, int flags)
{
    char *data;

    if (self->released) {
        PyErr_SetString(PyExc_ValueError,
                        "operation forbidden on a released Buffer");
        view->obj = NULL;
        return -1;
    }
    data = self->data != NULL ? self->data : empty_data;
    if (PyBuffer_FillInfo(view, (PyObject *)self, data, self->size, 1,
                          flags) < 0) {
        return -1;
    }
    self->exports++;
    return 0;
}

static void
OwnedMemory_releasebuffer(OwnedMemory *self, Py_buffer *view)
{
    (void)view;
    self->exports--;
}

static PyBufferProcs OwnedMemory_as_buffer = {
    (getbufferproc)OwnedMemory_getbuffer,
    (releasebufferproc)OwnedMemory_releasebuffer,
};

static PyObject *
OwnedMemory_attach(OwnedMemory *self, PyObject *args)
{
    unsigned long long address;
    Py_ssize_t size;
    PyObject *releaser;

    if (!PyArg_ParseTuple(args, "KnO:_attach", &address, &size, &releaser)) {
        return NULL;
    }
    if (self->releaser != NULL || self->guard != NULL || self->released
        || self->data != NULL) {
        PyErr_SetString(PyExc_RuntimeError, "Buffer is already attached");
        return NULL;
    }
    if (size < 0 || (address == 0 && size != 0)) {
        PyErr_SetString(PyExc_ValueError, "invalid address or size");
        return NULL;
    }
    if (releaser != Py_None && !PyCallable_Check(releaser)) {
        PyErr_SetString(PyExc_TypeError, "releaser must be callable or None");
        return NULL;
    }
    self->data = (char *)(uintptr_t)address;
    self->size = size;
    if (releaser != Py_None) {
        Py_INCREF(releaser);
        self->releaser = releaser;
    }
    Py_RETURN_NONE;
}

static PyObject *
OwnedMemory_release(OwnedMemory *self, PyObject *Py_UNUSED(ignored))
{
    if (self->released) {
        Py_RETURN_NONE;
    }
    if (self->exports > 0) {
        PyErr_Format(PyExc_BufferError,
                     "cannot release a Buffer while %zd view(s) of it are "
                     "alive; release them first (memoryview.release(), or "
                     "drop the arrays and views made from it)",
                     self->exports);
        return NULL;
    }
    if (give_back(self) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

/* The with statement, in C: a Python __enter__ and __exit__ would cost two
 * frames on every answer. */
static PyObject *
OwnedMemory_enter(OwnedMemory *self, PyObject *Py_UNUSED(ignored))
{
    Py_INCREF(self);
    return (PyObject *)self;
}

static PyObject *
OwnedMemory_exit(OwnedMemory *self, PyObject *const *args, Py_ssize_t nargs)
{
    PyObject *result = OwnedMemory_release(self, NULL);

    /* A view still alive when the block raised: the block's exception is
     * the one to see, not the BufferError; the memory goes back when the
     * Buffer is collected, after its last view. */
    if (result == NULL && nargs > 0 && args[0] != Py_None &&
        PyErr_ExceptionMatches(PyExc_BufferError)) {
        PyErr_Clear();
        Py_RETURN_NONE;
    }
    /* None: an exception raised in the block goes on. */
    return result;
}

static PyObject *
OwnedMemory_get_released(OwnedMemory *self, void *Py_UNUSED(closure))
{
    return PyBool_FromLong(self->released);
}

static PyObject *
OwnedMemory_get_nbytes(OwnedMemory *self, void *Py_UNUSED(closure))
{
    return PyLong_FromSsize_t(self->size);
}

static PyObject *
OwnedMemory_get_address(OwnedMemory *self, void *Py_UNUSED(closure))
{
    return PyLong_FromUnsignedLongLong((uintptr_t)self->data);
}

static PyObject *
OwnedMemory_get_exports(OwnedMemory *self, void *Py_UNUSED(closure))
{
    return PyLong_FromSsize_t(self->exports);
}

static Py_ssize_t
OwnedMemory_length(OwnedMemory *self)
{
    /* As memoryview does: a released Buffer must not pass for an empty
     * answer in "if len(buffer)" or "if buffer". */
    if (self->released) {
        PyErr_SetString(PyExc_ValueError,
                        "operation forbidden on a released Buffer");
        return -1;
    }
    return self->size;
}

static int
OwnedMemory_traverse(OwnedMemory *self, visitproc visit, void *arg)
{
    /* Not the guard: it refers to no Python object that could lead back. */
    Py_VISIT(self->releaser);
    return 0;
}

static int
OwnedMemory_clear(OwnedMemory *self)
{
    /* The GC breaks a cycle through the releaser: free the memory now
     * rather than dropping the releaser and leaking it. */
    if (self->exports == 0 && give_back(self) < 0) {
        PyErr_WriteUnraisable((PyObject *)self);
    }
    return 0;
}

static void
OwnedMemory_dealloc(OwnedMemory *self)
{
    PyObject *exc_type, *exc_value, *exc_tb;

    PyObject_GC_UnTrack(self);
    PyErr_Fetch(&exc_type, &exc_value, &exc_tb);
    if (self->weakrefs != NULL) {
        PyObject_ClearWeakRefs((PyObject *)self);
    }
    if (give_back(self) < 0) {
        /* Not self: printing it would take a new reference to an object
         * whose count is already zero, and deallocate it a second time. */
        PyErr_WriteUnraisable((PyObject *)Py_TYPE(self));
    }
    PyErr_Restore(exc_type, exc_value, exc_tb);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* ---- the SDK calls ------------------------------------------------------- */

/* Free what the core wrote into target before it answered an error. */
static void
discard(CallGuard *self, OrthancPluginMemoryBuffer *target)
{
    /* Detached, the core may be gone: left to the process's exit, as
     * give_back does. */
    if (target->data != NULL && !self->detached) {
        OrthancPluginFreeMemoryBuffer(self->context, target);
    }
    target->data = NULL;
    target->size = 0;
}

/* A new Buffer that owns target (moved in), or NULL with target freed. */
static PyObject *
new_buffer(CallGuard *self, OrthancPluginMemoryBuffer *target)
{
    OwnedMemory *buffer;

    buffer = (OwnedMemory *)buffer_type->tp_alloc(buffer_type, 0);
    if (buffer == NULL) {
        discard(self, target);
        return NULL;
    }
    if (target->data != NULL) {
        /* An empty answer (NULL, 0) has nothing to free. */
        buffer->owned = *target;
        buffer->data = target->data;
        buffer->size = target->size;
        Py_INCREF(self);
        buffer->guard = self;
    }
    return (PyObject *)buffer;
}

/* Raise the binding's exception for code, through the Python hook; steals
 * detail (NULL: an error is set already).  Always NULL. */
static PyObject *
fail(CallGuard *self, OrthancPluginErrorCode code, const char *function,
     PyObject *detail)
{
    PyObject *result;

    if (detail == NULL) {
        return NULL;
    }
    result = PyObject_CallFunction(fail_hook, "OisO", self->pointer, (int)code,
                                   function, detail);
    Py_DECREF(detail);
    if (result != NULL) {
        Py_DECREF(result);
        PyErr_SetString(PyExc_SystemError, "the error hook did not raise");
    }
    return NULL;
}

static PyObject *
answer_buffer(CallGuard *self, OrthancPluginErrorCode code, const char *function,
              const char *argument, OrthancPluginMemoryBuffer *target)
{
    if (code != OrthancPluginErrorCode_Success) {
        discard(self, target);
        return fail(self, code, function, PyBytes_FromString(argument));
    }
    return new_buffer(self, target);
}

/* Decode a string from the core (surrogateescape) and free it at once;
 * a NULL string answers fallback. */
static PyObject *
take_string(CallGuard *self, char *result, PyObject *fallback)
{
    PyObject *text;

    if (result == NULL) {
        Py_INCREF(fallback);
        return fallback;
    }
    text = PyUnicode_DecodeUTF8(result, (Py_ssize_t)strlen(result),
                                "surrogateescape");
    if (!self->detached) {
        OrthancPluginFreeString(self->context, result);
    }
    return text;
}

/* A C string argument.  An exact str (its cached UTF-8) or bytes without
 * a NUL is used in place; anything else, or a str with lone surrogates,
 * goes through the encode hook, which raises the binding's TypeError or
 * ValueError, or returns bytes, held in *keep.  The caller's reference to
 * value keeps the pointer valid. */
static const char *
c_string(PyObject *value, const char *what, PyObject **keep)
{
    const char *data = NULL;
    Py_ssize_t size = 0;

    if (PyUnicode_CheckExact(value)) {
        data = PyUnicode_AsUTF8AndSize(value, &size);
        if (data == NULL) {
            if (!PyErr_ExceptionMatches(PyExc_UnicodeEncodeError)) {
                return NULL;
            }
            PyErr_Clear();
        }
    }
    else if (PyBytes_CheckExact(value)) {
        data = PyBytes_AS_STRING(value);
        size = PyBytes_GET_SIZE(value);
    }
    if (data != NULL && memchr(data, '\0', (size_t)size) == NULL) {
        return data;
    }
    *keep = PyObject_CallFunction(encode_hook, "Os", value, what);
    if (*keep == NULL) {
        return NULL;
    }
    if (!PyBytes_Check(*keep)) {
        Py_CLEAR(*keep);
        PyErr_SetString(PyExc_SystemError, "the encode hook must return bytes");
        return NULL;
    }
    return PyBytes_AS_STRING(*keep);
}

/* A global property number: an exact int in [first, INT32_MAX] in place,
 * anything else through hook, which raises or returns the number. */
static int
c_property(PyObject *value, long first, PyObject *hook, int32_t *number)
{
    PyObject *checked;
    long result;
    int overflow = 0, status = -1;

    if (PyLong_CheckExact(value)) {
        result = PyLong_AsLongAndOverflow(value, &overflow);
        if (result == -1 && PyErr_Occurred()) {
            return -1;
        }
        if (!overflow && result >= first && result <= INT32_MAX) {
            *number = (int32_t)result;
            return 0;
        }
    }
    checked = PyObject_CallOneArg(hook, value);
    if (checked == NULL) {
        return -1;
    }
    result = PyLong_AsLongAndOverflow(checked, &overflow);
    if (result == -1 && PyErr_Occurred()) {
        goto done;
    }
    if (overflow || result < INT32_MIN || result > INT32_MAX) {
        PyErr_SetString(PyExc_SystemError, "the property hook let a bad value by");
        goto done;
    }
    *number = (int32_t)result;
    status = 0;

done:
    Py_DECREF(checked);
    return status;
}

static int
check_nargs(const char *name, Py_ssize_t nargs, Py_ssize_t expected)
{
    if (nargs != expected) {
        PyErr_Format(PyExc_TypeError, "%s() takes %zd arguments (%zd given)",
                     name, expected, nargs);
        return -1;
    }
    return 0;
}

static PyObject *
CallGuard_take(CallGuard *self, PyObject *address)
{
    void *pointer = PyLong_AsVoidPtr(address);

    if (pointer == NULL) {
        if (!PyErr_Occurred()) {
            PyErr_SetString(PyExc_ValueError, "the buffer address is NULL");
        }
        return NULL;
    }
    return new_buffer(self, (OrthancPluginMemoryBuffer *)pointer);
}

static PyObject *
CallGuard_rest_api_get(CallGuard *self, PyObject *const *args, Py_ssize_t nargs)
{
    PyObject *keep = NULL, *answer = NULL;
    OrthancPluginMemoryBuffer target = {NULL, 0};
    OrthancPluginErrorCode code;
    const char *uri;
    int after_plugins;

    if (check_nargs("rest_api_get", nargs, 2) < 0
        || guard_enter_or_raise(self) < 0) {
        return NULL;
    }
    uri = c_string(args[0], "uri", &keep);
    if (uri == NULL) {
        goto done;
    }
    after_plugins = PyObject_IsTrue(args[1]);
    if (after_plugins < 0) {
        goto done;
    }

    Py_BEGIN_ALLOW_THREADS
    if (after_plugins) {
        code = OrthancPluginRestApiGetAfterPlugins(self->context, &target, uri);
    }
    else {
        code = OrthancPluginRestApiGet(self->context, &target, uri);
    }
    Py_END_ALLOW_THREADS
    answer = answer_buffer(self, code,
                           after_plugins ? "OrthancPluginRestApiGetAfterPlugins"
                                         : "OrthancPluginRestApiGet",
                           uri, &target);

done:
    Py_XDECREF(keep);
    guard_leave(self);
    return answer;
}

static PyObject *
CallGuard_get_dicom_for_instance(CallGuard *self, PyObject *instance_id)
{
    PyObject *keep = NULL, *answer = NULL;
    OrthancPluginMemoryBuffer target = {NULL, 0};
    OrthancPluginErrorCode code;
    const char *id;

    if (guard_enter_or_raise(self) < 0) {
        return NULL;
    }
    id = c_string(instance_id, "instance_id", &keep);
    if (id == NULL) {
        goto done;
    }

    Py_BEGIN_ALLOW_THREADS
    code = OrthancPluginGetDicomForInstance(self->context, &target, id);
    Py_END_ALLOW_THREADS
    answer = answer_buffer(self, code, "OrthancPluginGetDicomForInstance", id,
                           &target);

done:
    Py_XDECREF(keep);
    guard_leave(self);
    return answer;
}

/* The lookups, as the SDK's inline functions make them, but keeping the
 * code that those drop (as the OrthancSdkLookup* helpers of the C tier). */
static const struct {
    _OrthancPluginService service;
    const char *function;
    const char *what;
} lookups[] = {
    {_OrthancPluginService_LookupPatient, "OrthancPluginLookupPatient",
     "patient_id"},
    {_OrthancPluginService_LookupStudy, "OrthancPluginLookupStudy",
     "study_uid"},
    {_OrthancPluginService_LookupStudyWithAccessionNumber,
     "OrthancPluginLookupStudyWithAccessionNumber", "accession_number"},
    {_OrthancPluginService_LookupSeries, "OrthancPluginLookupSeries",
     "series_uid"},
    {_OrthancPluginService_LookupInstance, "OrthancPluginLookupInstance",
     "sop_instance_uid"},
};

static PyObject *
lookup(CallGuard *self, PyObject *value, int which)
{
    PyObject *keep = NULL, *answer = NULL;
    _OrthancPluginRetrieveDynamicString params;
    OrthancPluginErrorCode code;
    const char *argument;
    char *result = NULL;

    if (guard_enter_or_raise(self) < 0) {
        return NULL;
    }
    argument = c_string(value, lookups[which].what, &keep);
    if (argument == NULL) {
        goto done;
    }
    params.result = &result;
    params.argument = argument;

    Py_BEGIN_ALLOW_THREADS
    code = self->context->InvokeService(self->context, lookups[which].service,
                                        &params);
    Py_END_ALLOW_THREADS
    if (code == OrthancPluginErrorCode_UnknownResource) {
        /* The core answers this both for no match and for several. */
        Py_INCREF(Py_None);
        answer = Py_None;
    }
    else if (code != OrthancPluginErrorCode_Success) {
        answer = fail(self, code, lookups[which].function,
                      PyBytes_FromString(argument));
    }
    else {
        answer = take_string(self, result, Py_None);
    }

done:
    Py_XDECREF(keep);
    guard_leave(self);
    return answer;
}

#define LOOKUP_METHOD(name, which)                                         \
    static PyObject *                                                      \
    CallGuard_##name(CallGuard *self, PyObject *value)                     \
    {                                                                      \
        return lookup(self, value, which);                                 \
    }

LOOKUP_METHOD(lookup_patient, 0)
LOOKUP_METHOD(lookup_study, 1)
LOOKUP_METHOD(lookup_study_with_accession_number, 2)
LOOKUP_METHOD(lookup_series, 3)
LOOKUP_METHOD(lookup_instance, 4)

static PyObject *
CallGuard_get_global_property(CallGuard *self, PyObject *const *args,
                              Py_ssize_t nargs)
{
    PyObject *keep = NULL, *answer = NULL;
    _OrthancPluginGlobalProperty params;
    OrthancPluginErrorCode code;
    const char *default_value;
    char *result = NULL;
    int32_t number;

    if (check_nargs("get_global_property", nargs, 2) < 0
        || guard_enter_or_raise(self) < 0) {
        return NULL;
    }
    if (c_property(args[0], INT32_MIN, property_hook, &number) < 0) {
        goto done;
    }
    default_value = c_string(args[1], "default", &keep);
    if (default_value == NULL) {
        goto done;
    }
    params.result = &result;
    params.property = number;
    params.value = default_value;

    Py_BEGIN_ALLOW_THREADS
    code = self->context->InvokeService(
        self->context, _OrthancPluginService_GetGlobalProperty, &params);
    Py_END_ALLOW_THREADS
    if (code != OrthancPluginErrorCode_Success) {
        answer = fail(self, code, "OrthancPluginGetGlobalProperty",
                      PyBytes_FromFormat("%d", (int)number));
    }
    else {
        answer = take_string(self, result, args[1]);
    }

done:
    Py_XDECREF(keep);
    guard_leave(self);
    return answer;
}

static PyObject *
CallGuard_set_global_property(CallGuard *self, PyObject *const *args,
                              Py_ssize_t nargs)
{
    PyObject *keep = NULL, *answer = NULL;
    OrthancPluginErrorCode code;
    const char *value;
    int32_t number;

    if (check_nargs("set_global_property", nargs, 2) < 0
        || guard_enter_or_raise(self) < 0) {
        return NULL;
    }
    if (c_property(args[0], 1024, plugin_property_hook, &number) < 0) {
        goto done;
    }
    value = c_string(args[1], "value", &keep);
    if (value == NULL) {
        goto done;
    }

    Py_BEGIN_ALLOW_THREADS
    code = OrthancPluginSetGlobalProperty(self->context, number, value);
    Py_END_ALLOW_THREADS
    if (code != OrthancPluginErrorCode_Success) {
        answer = fail(self, code, "OrthancPluginSetGlobalProperty",
                      PyBytes_FromFormat("%d", (int)number));
    }
    else {
        Py_INCREF(Py_None);
        answer = Py_None;
    }

done:
    Py_XDECREF(keep);
    guard_leave(self);
    return answer;
}

/* ---- types and module ---------------------------------------------------- */

static PyMethodDef CallGuard_methods[] = {
    {"enter", (PyCFunction)CallGuard_enter, METH_NOARGS,
     "Count a call in; ContextClosedError once closed."},
    {"enter_while_closed", (PyCFunction)CallGuard_enter_while_closed,
     METH_NOARGS,
     "Count a free or a log in; False (not counted) once detached."},
    {"leave", (PyCFunction)CallGuard_leave, METH_NOARGS, "Count a call out."},
    {"close", (PyCFunction)CallGuard_close, METH_VARARGS,
     "close(timeout, detach): refuse calls; wait for those in flight."},
    {"take", (PyCFunction)CallGuard_take, METH_O,
     "take(address): a Buffer owning the OrthancPluginMemoryBuffer there."},
    {"rest_api_get", (PyCFunction)(void (*)(void))CallGuard_rest_api_get,
     METH_FASTCALL, "rest_api_get(uri, after_plugins) -> Buffer"},
    {"get_dicom_for_instance", (PyCFunction)CallGuard_get_dicom_for_instance,
     METH_O, "get_dicom_for_instance(instance_id) -> Buffer"},
    {"lookup_patient", (PyCFunction)CallGuard_lookup_patient, METH_O, NULL},
    {"lookup_study", (PyCFunction)CallGuard_lookup_study, METH_O, NULL},
    {"lookup_study_with_accession_number",
     (PyCFunction)CallGuard_lookup_study_with_accession_number, METH_O, NULL},
    {"lookup_series", (PyCFunction)CallGuard_lookup_series, METH_O, NULL},
    {"lookup_instance", (PyCFunction)CallGuard_lookup_instance, METH_O, NULL},
    {"get_global_property",
     (PyCFunction)(void (*)(void))CallGuard_get_global_property, METH_FASTCALL,
     "get_global_property(property, default) -> str"},
    {"set_global_property",
     (PyCFunction)(void (*)(void))CallGuard_set_global_property, METH_FASTCALL,
     "set_global_property(property, value)"},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef CallGuard_getset[] = {
    {"closed", (getter)CallGuard_get_closed, NULL,
     "True once closed: SDK calls are refused.", NULL},
    {"detached", (getter)CallGuard_get_detached, NULL,
     "True once detached: nothing reaches the core.", NULL},
    {"busy", (getter)CallGuard_get_busy, NULL, "Calls in flight.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject CallGuard_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "orthanc_sdk._memory.CallGuard",
    .tp_basicsize = sizeof(CallGuard),
    .tp_dealloc = (destructor)CallGuard_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "CallGuard(pointer, address): an OrthancPluginContext *, the "
              "calls in flight on it, and the hot SDK calls.",
    .tp_methods = CallGuard_methods,
    .tp_getset = CallGuard_getset,
    .tp_new = CallGuard_new,
};

static PyMethodDef OwnedMemory_methods[] = {
    {"_attach", (PyCFunction)OwnedMemory_attach, METH_VARARGS,
     "_attach(address, size, releaser): take ownership of memory."},
    {"release", (PyCFunction)OwnedMemory_release, METH_NOARGS,
     "Give the memory back now.  Idempotent.  Raises BufferError while a "
     "view is alive."},
    {"__enter__", (PyCFunction)OwnedMemory_enter, METH_NOARGS, NULL},
    {"__exit__", (PyCFunction)(void (*)(void))OwnedMemory_exit, METH_FASTCALL,
     "Release the memory (see release())."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef OwnedMemory_getset[] = {
    {"released", (getter)OwnedMemory_get_released, NULL,
     "True once the memory has been given back.", NULL},
    {"nbytes", (getter)OwnedMemory_get_nbytes, NULL,
     "Size in bytes (0 once released).", NULL},
    {"address", (getter)OwnedMemory_get_address, NULL,
     "Address of the first byte, for C code (0 when empty or released).",
     NULL},
    {"exports", (getter)OwnedMemory_get_exports, NULL,
     "Number of buffer views currently alive.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PySequenceMethods OwnedMemory_as_sequence = {
    .sq_length = (lenfunc)OwnedMemory_length,
};

static PyTypeObject OwnedMemory_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "orthanc_sdk._memory.OwnedMemory",
    .tp_basicsize = sizeof(OwnedMemory),
    .tp_dealloc = (destructor)OwnedMemory_dealloc,
    .tp_as_sequence = &OwnedMemory_as_sequence,
    .tp_as_buffer = &OwnedMemory_as_buffer,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "Memory owned by Python, given back exactly once.",
    .tp_traverse = (traverseproc)OwnedMemory_traverse,
    .tp_clear = (inquiry)OwnedMemory_clear,
    .tp_weaklistoffset = offsetof(OwnedMemory, weakrefs),
    .tp_methods = OwnedMemory_methods,
    .tp_getset = OwnedMemory_getset,
    .tp_new = PyType_GenericNew,
};

static void
replace(PyObject **slot, PyObject *value)
{
    PyObject *old = *slot;

    Py_INCREF(value);
    *slot = value;
    Py_XDECREF(old);
}

static PyObject *
memory_setup(PyObject *Py_UNUSED(module), PyObject *args)
{
    PyObject *type, *closed, *fail_f, *encode_f, *property_f, *plugin_f;

    if (!PyArg_ParseTuple(args, "O!OOOOO:_setup", &PyType_Type, &type, &closed,
                          &fail_f, &encode_f, &property_f, &plugin_f)) {
        return NULL;
    }
    if (!PyType_IsSubtype((PyTypeObject *)type, &OwnedMemory_Type)) {
        PyErr_SetString(PyExc_TypeError, "the Buffer type must be an OwnedMemory");
        return NULL;
    }
    if (!PyExceptionClass_Check(closed)) {
        PyErr_SetString(PyExc_TypeError, "the closed error must be a class");
        return NULL;
    }
    if (!PyCallable_Check(fail_f) || !PyCallable_Check(encode_f)
        || !PyCallable_Check(property_f) || !PyCallable_Check(plugin_f)) {
        PyErr_SetString(PyExc_TypeError, "the hooks must be callable");
        return NULL;
    }
    replace((PyObject **)&buffer_type, type);
    replace(&closed_error, closed);
    replace(&fail_hook, fail_f);
    replace(&encode_hook, encode_f);
    replace(&property_hook, property_f);
    replace(&plugin_property_hook, plugin_f);
    Py_RETURN_NONE;
}

static PyMethodDef memory_functions[] = {
    {"_setup", memory_setup, METH_VARARGS,
     "_setup(buffer_type, closed_error, fail, encode, property, "
     "plugin_property): what the C calls answer and raise with."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef memory_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "orthanc_sdk._memory",
    .m_doc = "Zero-copy base type for orthanc_sdk.Buffer; the call guard.",
    .m_size = -1,
    .m_methods = memory_functions,
};

static int
add_type(PyObject *module, const char *name, PyTypeObject *type)
{
    if (PyType_Ready(type) < 0) {
        return -1;
    }
    Py_INCREF(type);
    if (PyModule_AddObject(module, name, (PyObject *)type) < 0) {
        Py_DECREF(type);
        return -1;
    }
    return 0;
}

PyMODINIT_FUNC
PyInit__memory(void)
{
    PyObject *module;

    module = PyModule_Create(&memory_module);
    if (module == NULL) {
        return NULL;
    }
    if (add_type(module, "OwnedMemory", &OwnedMemory_Type) < 0
        || add_type(module, "CallGuard", &CallGuard_Type) < 0) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
