/* The floor of the benchmarks: the workloads of the Python plugins, in C.
 *
 * A plain Orthanc plugin that serves
 *
 *   GET /bench/c/run?workload=W&n=N[&arg=A][&property=P][&each=0]
 *       runs workload W N times inside Orthanc and answers JSON: the time
 *       of each iteration in nanoseconds ("ns"), or only their sum
 *       ("total_ns") when each=0;
 *   GET /bench/c/system
 *       answers what RestApiGet("/system") answered (end-to-end latency).
 *
 * The workloads are those of benchmarks/sdk_plugin.py, done as a C plugin
 * would do them: "system", "dicom" (the file is fetched and freed,
 * untouched: the floor of every zero-copy view), "dicom-read" (every byte
 * read), "dicom-bytes" (copied into fresh memory), "lookup-study",
 * "get-property" and "set-property".
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include <orthanc/OrthancCPlugin.h>

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FLOOR_NAME "orthanc-sdk-bench-floor"
#define FLOOR_VERSION "0.1.0"
/* A bound on N, so a typo cannot keep an HTTP thread busy for hours. */
#define MAX_ITERATIONS 1000000L

static OrthancPluginContext *context_ = NULL;

typedef enum {
    WORK_SYSTEM,
    WORK_DICOM,
    WORK_DICOM_READ,
    WORK_DICOM_BYTES,
    WORK_LOOKUP_STUDY,
    WORK_GET_PROPERTY,
    WORK_SET_PROPERTY
} Workload;

static const struct {
    const char *name;
    Workload workload;
} workloads_[] = {
    {"system", WORK_SYSTEM},
    {"dicom", WORK_DICOM},
    {"dicom-read", WORK_DICOM_READ},
    {"dicom-bytes", WORK_DICOM_BYTES},
    {"lookup-study", WORK_LOOKUP_STUDY},
    {"get-property", WORK_GET_PROPERTY},
    {"set-property", WORK_SET_PROPERTY},
};

typedef struct {
    Workload workload;
    long iterations;
    const char *arg;
    int32_t property;
    int each;
} Job;

typedef struct {
    char *data;
    size_t size;
    size_t capacity;
} Text;

static uint64_t
now_ns(void)
{
    struct timespec now;

    if (clock_gettime(CLOCK_MONOTONIC, &now) != 0) {
        return 0;
    }
    return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

static int
text_append(Text *text, const char *format, ...)
{
    va_list args;
    int length;
    char *grown;
    size_t capacity;

    va_start(args, format);
    length = vsnprintf(NULL, 0, format, args);
    va_end(args);
    if (length < 0) {
        return -1;
    }
    if (text->size + (size_t)length + 1 > text->capacity) {
        capacity = 2 * (text->size + (size_t)length + 1);
        grown = realloc(text->data, capacity);
        if (grown == NULL) {
            return -1;
        }
        text->data = grown;
        text->capacity = capacity;
    }
    va_start(args, format);
    length = vsnprintf(text->data + text->size, (size_t)length + 1, format,
                       args);
    va_end(args);
    if (length < 0) {
        return -1;
    }
    text->size += (size_t)length;
    return 0;
}

/* Every byte of the buffer, summed as 64-bit words, then the tail bytes:
 * reading all of it is the point, the sum only keeps the loop alive. */
static uint64_t
sum_bytes(const void *data, size_t size)
{
    const unsigned char *bytes = data;
    uint64_t sum = 0;
    uint64_t word;
    size_t i;

    for (i = 0; i + 8 <= size; i += 8) {
        memcpy(&word, bytes + i, 8);
        sum += word;
    }
    for (; i < size; i++) {
        sum += bytes[i];
    }
    return sum;
}

static OrthancPluginErrorCode
dicom_once(const Job *job, uint64_t *check)
{
    OrthancPluginMemoryBuffer buffer;
    OrthancPluginErrorCode code;
    void *copy;

    code = OrthancPluginGetDicomForInstance(context_, &buffer, job->arg);
    if (code != OrthancPluginErrorCode_Success) {
        return code;
    }
    switch (job->workload) {
    case WORK_DICOM_READ:
        *check += sum_bytes(buffer.data, buffer.size);
        break;
    case WORK_DICOM_BYTES:
        copy = malloc(buffer.size > 0 ? buffer.size : 1);
        if (copy == NULL) {
            code = OrthancPluginErrorCode_NotEnoughMemory;
            break;
        }
        memcpy(copy, buffer.data, buffer.size);
        *check += ((unsigned char *)copy)[buffer.size / 2];
        free(copy);
        break;
    default:
        *check += buffer.size;
        break;
    }
    OrthancPluginFreeMemoryBuffer(context_, &buffer);
    return code;
}

static OrthancPluginErrorCode
string_once(char *result, uint64_t *check)
{
    if (result == NULL) {
        /* The inline SDK functions drop the core's code. */
        return OrthancPluginErrorCode_UnknownResource;
    }
    *check += strlen(result);
    OrthancPluginFreeString(context_, result);
    return OrthancPluginErrorCode_Success;
}

static OrthancPluginErrorCode
run_once(const Job *job, uint64_t *check)
{
    OrthancPluginMemoryBuffer buffer;
    OrthancPluginErrorCode code;

    switch (job->workload) {
    case WORK_SYSTEM:
        code = OrthancPluginRestApiGet(context_, &buffer, "/system");
        if (code == OrthancPluginErrorCode_Success) {
            *check += buffer.size;
            OrthancPluginFreeMemoryBuffer(context_, &buffer);
        }
        return code;
    case WORK_DICOM:
    case WORK_DICOM_READ:
    case WORK_DICOM_BYTES:
        return dicom_once(job, check);
    case WORK_LOOKUP_STUDY:
        return string_once(OrthancPluginLookupStudy(context_, job->arg),
                           check);
    case WORK_GET_PROPERTY:
        return string_once(
            OrthancPluginGetGlobalProperty(context_, job->property, ""),
            check);
    case WORK_SET_PROPERTY:
        return OrthancPluginSetGlobalProperty(context_, job->property,
                                              job->arg);
    }
    return OrthancPluginErrorCode_ParameterOutOfRange;
}

static const char *
get_argument(const OrthancPluginHttpRequest *request, const char *key)
{
    uint32_t i;

    for (i = 0; i < request->getCount; i++) {
        if (strcmp(request->getKeys[i], key) == 0) {
            return request->getValues[i];
        }
    }
    return NULL;
}

static int
parse_job(const OrthancPluginHttpRequest *request, Job *job)
{
    const char *name = get_argument(request, "workload");
    const char *text;
    char *end;
    long value;
    size_t i;

    if (name == NULL) {
        return -1;
    }
    for (i = 0; i < sizeof(workloads_) / sizeof(workloads_[0]); i++) {
        if (strcmp(workloads_[i].name, name) == 0) {
            break;
        }
    }
    if (i == sizeof(workloads_) / sizeof(workloads_[0])) {
        return -1;
    }
    job->workload = workloads_[i].workload;

    text = get_argument(request, "n");
    job->iterations = text != NULL ? strtol(text, &end, 10) : 1;
    if (text != NULL && (*end != '\0' || end == text)) {
        return -1;
    }
    if (job->iterations < 1 || job->iterations > MAX_ITERATIONS) {
        return -1;
    }
    text = get_argument(request, "property");
    value = text != NULL ? strtol(text, &end, 10) : 0;
    if (text != NULL && (*end != '\0' || end == text)) {
        return -1;
    }
    if (value < INT32_MIN || value > INT32_MAX) {
        return -1;
    }
    job->property = (int32_t)value;
    text = get_argument(request, "each");
    job->each = text == NULL || strcmp(text, "0") != 0;
    job->arg = get_argument(request, "arg");
    if (job->arg == NULL) {
        job->arg = "";
    }
    return 0;
}

static OrthancPluginErrorCode
serve_run(OrthancPluginRestOutput *output, const char *url,
          const OrthancPluginHttpRequest *request)
{
    Job job;
    Text text = {NULL, 0, 0};
    OrthancPluginErrorCode code = OrthancPluginErrorCode_Success;
    uint64_t check = 0;
    uint64_t total = 0;
    uint64_t start;
    uint64_t elapsed;
    long i;

    (void)url;
    if (request->method != OrthancPluginHttpMethod_Get) {
        OrthancPluginSendMethodNotAllowed(context_, output, "GET");
        return OrthancPluginErrorCode_Success;
    }
    if (parse_job(request, &job) != 0) {
        return OrthancPluginErrorCode_BadRequest;
    }
    if (text_append(&text, "{\"ns\": [") != 0) {
        code = OrthancPluginErrorCode_NotEnoughMemory;
        goto done;
    }
    for (i = 0; i < job.iterations; i++) {
        start = now_ns();
        code = run_once(&job, &check);
        elapsed = now_ns() - start;
        if (code != OrthancPluginErrorCode_Success) {
            goto done;
        }
        total += elapsed;
        if (job.each &&
            text_append(&text, "%s%llu", i > 0 ? ", " : "",
                        (unsigned long long)elapsed) != 0) {
            code = OrthancPluginErrorCode_NotEnoughMemory;
            goto done;
        }
    }
    if (text_append(&text, "], \"total_ns\": %llu, \"n\": %ld,"
                    " \"check\": %llu}", (unsigned long long)total,
                    job.iterations, (unsigned long long)check) != 0) {
        code = OrthancPluginErrorCode_NotEnoughMemory;
        goto done;
    }
    OrthancPluginAnswerBuffer(context_, output, text.data, text.size,
                              "application/json");

done:
    free(text.data);
    return code;
}

static OrthancPluginErrorCode
serve_system(OrthancPluginRestOutput *output, const char *url,
             const OrthancPluginHttpRequest *request)
{
    OrthancPluginMemoryBuffer buffer;
    OrthancPluginErrorCode code;

    (void)url;
    (void)request;
    code = OrthancPluginRestApiGet(context_, &buffer, "/system");
    if (code != OrthancPluginErrorCode_Success) {
        return code;
    }
    OrthancPluginAnswerBuffer(context_, output, buffer.data, buffer.size,
                              "application/json");
    OrthancPluginFreeMemoryBuffer(context_, &buffer);
    return OrthancPluginErrorCode_Success;
}

__attribute__((visibility("default"))) int32_t
OrthancPluginInitialize(OrthancPluginContext *context)
{
    char message[256];

    context_ = context;
    if (OrthancPluginCheckVersion(context) == 0) {
        snprintf(message, sizeof(message),
                 FLOOR_NAME ": Orthanc %s is older than the SDK %d.%d.%d",
                 context->orthancVersion,
                 ORTHANC_PLUGINS_MINIMAL_MAJOR_NUMBER,
                 ORTHANC_PLUGINS_MINIMAL_MINOR_NUMBER,
                 ORTHANC_PLUGINS_MINIMAL_REVISION_NUMBER);
        OrthancPluginLogError(context, message);
        return -1;
    }
    OrthancPluginRegisterRestCallbackNoLock(context, "/bench/c/run",
                                            serve_run);
    OrthancPluginRegisterRestCallbackNoLock(context, "/bench/c/system",
                                            serve_system);
    OrthancPluginLogWarning(context, FLOOR_NAME " " FLOOR_VERSION " loaded");
    return 0;
}

__attribute__((visibility("default"))) void
OrthancPluginFinalize(void)
{
    context_ = NULL;
}

__attribute__((visibility("default"))) const char *
OrthancPluginGetName(void)
{
    return FLOOR_NAME;
}

__attribute__((visibility("default"))) const char *
OrthancPluginGetVersion(void)
{
    return FLOOR_VERSION;
}
