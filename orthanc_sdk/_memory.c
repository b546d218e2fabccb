/* orthanc_sdk._memory: the buffer-protocol base of orthanc_sdk.Buffer.
 *
 * Python 3.11 has no Python-level buffer protocol, so zero-copy access to
 * memory that Orthanc allocated needs a C type.  OwnedMemory exports a
 * read-only view of (data, size) and calls a Python "releaser" exactly once
 * when the memory must go back to Orthanc: on release(), or on deallocation
 * as a backstop.  While a view is exported, release() raises BufferError;
 * deallocation cannot happen then, because every view holds a reference.
 *
 * Copyright (C) the orthanc_sdk authors.  GPL-3.0-or-later.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    PyObject_HEAD
    char *data;
    Py_ssize_t size;
    Py_ssize_t exports;
    PyObject *releaser;   /* NULL once released, or when never attached */
    int released;
    PyObject *weakrefs;
} OwnedMemory;

/* An empty answer from Orthanc is (NULL, 0); consumers of a Py_buffer are
 * entitled to a valid pointer, so an empty view points here instead. */
static char empty_data[1];

static int
call_releaser(OwnedMemory *self)
{
    PyObject *releaser = self->releaser;
    PyObject *result;

    self->releaser = NULL;
    self->data = NULL;
    self->size = 0;
    self->released = 1;
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
    if (self->releaser != NULL || self->released || self->data != NULL) {
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
    if (call_releaser(self) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
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
    Py_VISIT(self->releaser);
    return 0;
}

static int
OwnedMemory_clear(OwnedMemory *self)
{
    /* The GC breaks a cycle through the releaser: free the memory now
     * rather than dropping the releaser and leaking it. */
    if (self->exports == 0 && call_releaser(self) < 0) {
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
    if (call_releaser(self) < 0) {
        /* Not self: printing it would take a new reference to an object
         * whose count is already zero, and deallocate it a second time. */
        PyErr_WriteUnraisable((PyObject *)Py_TYPE(self));
    }
    PyErr_Restore(exc_type, exc_value, exc_tb);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyMethodDef OwnedMemory_methods[] = {
    {"_attach", (PyCFunction)OwnedMemory_attach, METH_VARARGS,
     "_attach(address, size, releaser): take ownership of memory."},
    {"release", (PyCFunction)OwnedMemory_release, METH_NOARGS,
     "Give the memory back now.  Idempotent.  Raises BufferError while a "
     "view is alive."},
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

static struct PyModuleDef memory_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "orthanc_sdk._memory",
    .m_doc = "Zero-copy base type for orthanc_sdk.Buffer.",
    .m_size = -1,
};

PyMODINIT_FUNC
PyInit__memory(void)
{
    PyObject *module;

    if (PyType_Ready(&OwnedMemory_Type) < 0) {
        return NULL;
    }
    module = PyModule_Create(&memory_module);
    if (module == NULL) {
        return NULL;
    }
    Py_INCREF(&OwnedMemory_Type);
    if (PyModule_AddObject(module, "OwnedMemory",
                           (PyObject *)&OwnedMemory_Type) < 0) {
        Py_DECREF(&OwnedMemory_Type);
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
