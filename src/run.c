/* SPDX-License-Identifier: MIT */
/* run: POST /run from its body to its answer: the checks, the container, the stream, the verdict. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "body.h"
#include "docker.h"
#include "lifecycle.h"
#include "log.h"
#include "pool.h"
#include "pump.h"
#include "run.h"

/* How long the handler keeps trying to remove a container after the answer. */
#define REMOVE_USEC (30 * USEC_PER_SEC)

struct run {
        struct docker *docker;
        struct lifecycle life;
        struct docker_stream *stream;
        struct pump pump;
        bool pumped;
        struct body_request body; /* the image, the payload's bytes and the limits of this run */
        const char *image;        /* body.image */
        usec_t deadline;
};

static struct run *run_free(struct run *r) {
        if (!r)
                return NULL;
        if (r->pumped)
                pump_done(&r->pump);
        docker_stream_free(r->stream);
        lifecycle_done(&r->life);
        docker_free(r->docker);
        free(r);
        return NULL;
}

/* An engine call failed: the socket is unreachable, or the engine said no. */
static void fail_engine(struct request *q, int r, enum apierror refused, const char *what) {
        struct docker *d = q->run->docker;

        if (r == -EREMOTEIO || r == -EBADMSG)
                answer_fail(&q->answer, refused, "Failed to %s: %s", what, docker_message(d));
        else if (r == -ENOMEM)
                answer_fail(&q->answer, APIERROR_INTERNAL, "Out of memory");
        else
                answer_fail(&q->answer, APIERROR_DOCKER_UNIXSOCKET, "Unix socket failure: %s",
                        docker_message(d));
}

/* The run's deadline as wall-clock time, for labels and claims: the sweeper compares it across processes. */
static int64_t wall_deadline(const struct config *c) {
        return (int64_t)time(NULL) + config_run_seconds(c);
}

/* Validate the body: the image, the payload's bytes, the limits asked for. */
static int parse_body(struct request *q) {
        const struct config *c = q->config;
        struct body_maxima max = {
                .execution_time_ms = c->max_execution_time_ms,
                .output_size = c->max_output_size,
                .memory = c->container_memory,
        };
        enum apierror e;
        char msg[256];
        int r;

        r = body_parse_request(
                q->http.body.ptr, q->http.body.len, &max, &q->run->body, &e, msg, sizeof(msg));
        if (r < 0) {
                answer_fail(&q->answer, e, "%s", msg);
                return r;
        }
        q->run->image = q->run->body.image;
        q->log.image = q->run->image;
        return 0;
}

/* The runner's stdout must be exactly one JSON object; it is then answered byte for byte. */
static void take_runner_output(struct request *q, struct pump *p) {
        const struct stream_buffer *out = pump_output(p, STREAM_STDOUT),
                                   *err = pump_output(p, STREAM_STDERR), *in = pump_output(p, STREAM_STDIN);
        char why[256];
        size_t end, len = 0;
        char *body;
        int r = 0;

        /* The buffer is handed to the answer, not copied: it is taken before its length is passed. */
        if (in->len > 0) {
                char *data = pump_take_output(p, STREAM_STDIN, &len);

                return answer_fail_take(&q->answer, APIERROR_CODERUNNER_STDIN,
                        "Code runner returned unexpected stdin data: ", data, len);
        }
        if (err->len > 0) {
                char *data = pump_take_output(p, STREAM_STDERR, &len);

                return answer_fail_take(&q->answer, APIERROR_CODERUNNER_STDERR,
                        "Code runner failed with the following message: ", data, len);
        }

        /* Answered early, the answer is the first whole object; at the exit, all of stdout must be one. */
        if (p->watch.complete && p->early)
                end = p->watch.end;
        else
                r = body_check_runner_output(out->data, out->len, &end, why, sizeof(why));
        if (r < 0)
                return answer_fail(&q->answer, APIERROR_CODERUNNER_STDOUT_DECODE,
                        "Failed to decode json returned from code runner: %s", why);

        /* Leading whitespace is kept, trailing dropped: the answer is the runner's own bytes, handed over.
         */
        body = pump_take_output(p, STREAM_STDOUT, &len);
        answer_ok(&q->answer, body, end);
}

/* What ended the stream decides the answer. */
static enum outcome judge(struct request *q, enum pump_end e) {
        struct run *run = q->run;
        const struct config *c = q->config;

        switch (e) {
        case PUMP_COMPLETE:
                take_runner_output(q, &run->pump);
                return OUTCOME_ANSWER;
        case PUMP_EOF:
                run->life.running = false;
                /* Without the runner's answer, the end may be the engine's: ask it. */
                if (!run->pump.watch.complete && docker_ping(run->docker) < 0) {
                        answer_fail(&q->answer, APIERROR_DOCKER_UNIXSOCKET,
                                "Unix socket failure: the engine went away during the run: %s",
                                docker_message(run->docker));
                        return OUTCOME_ANSWER;
                }
                take_runner_output(q, &run->pump);
                return OUTCOME_ANSWER;
        case PUMP_TRUNCATED:
                answer_fail(&q->answer, APIERROR_DOCKER_STREAM_READ,
                        "Failed while reading stream: it ended inside a frame");
                return OUTCOME_ANSWER;
        case PUMP_DEADLINE:
                answer_fail(&q->answer, APIERROR_LIMITS_EXECUTION_TIME,
                        "Max execution time exceeded (%llu ms)",
                        (unsigned long long)c->max_execution_time_ms);
                return OUTCOME_ANSWER;
        case PUMP_TOO_BIG:
                answer_fail(&q->answer, APIERROR_LIMITS_READ_SIZE, "Max output size exceeded (%llu bytes)",
                        (unsigned long long)run->body.output_size);
                return OUTCOME_ANSWER;
        case PUMP_BAD_FRAME:
                answer_fail(&q->answer, APIERROR_DOCKER_STREAM_READ,
                        "Failed while reading stream: Unknown stream type");
                return OUTCOME_ANSWER;
        case PUMP_BROKEN:
                answer_fail(&q->answer, APIERROR_DOCKER_STREAM_READ, "Failed while reading stream: %s",
                        strerror(-run->pump.error));
                return OUTCOME_ANSWER;
        case PUMP_CLIENT_GONE:
                return OUTCOME_CLIENT_GONE;
        case PUMP_STOPPED:
                return OUTCOME_INTERRUPTED;
        case PUMP_WRITE_TIMEOUT:
                answer_fail(&q->answer, APIERROR_DOCKER_PAYLOAD_SERIALIZE,
                        "Failed to send payload to stream: the container took none of it for %llu ms "
                        "(DOCKER_UNIX_SOCKET_WRITE_TIMEOUT)",
                        (unsigned long long)c->docker_write_timeout_ms);
                return OUTCOME_ANSWER;
        case PUMP_NOMEM:
                break;
        }
        answer_fail(&q->answer, APIERROR_INTERNAL, "Out of memory");
        return OUTCOME_ANSWER;
}

static int start_pump(struct request *q) {
        struct run *run = q->run;
        const struct config *c = q->config;
        struct pump_params p = {
                .stream = run->stream,
                .payload = run->body.payload,
                .payload_len = run->body.payload_len,
                .write_timeout = c->docker_write_timeout_ms * USEC_PER_MSEC,
                .max_output = run->body.output_size,
                .hangup_fd = q->conn->in_fd,
                .hangup_events = conn_hangup_events(q->conn),
                .sigfd = q->sigfd,
                .early = !c->wait_for_exit,
        };
        int r;

        r = pump_init(&run->pump, &p);
        run->pumped = true;
        if (r < 0)
                answer_fail(&q->answer, APIERROR_INTERNAL, "Out of memory");
        return r;
}

/*
 * A warm container, claimed and attached; its runner has been waiting on stdin, so the deadline starts at
 * the claim. -ENOENT when none can serve: no pool, none free, the request asks for another memory limit than
 * the pool's (fixed at create), or the claimed one turned out to be gone; the caller goes cold.
 */
static int warm_container(struct request *q) {
        struct run *run = q->run;
        int r;

        if (run->body.memory != q->config->container_memory)
                return -ENOENT;
        r = lifecycle_claim(&run->life, run->image, wall_deadline(q->config));
        if (r < 0)
                return -ENOENT;
        run->deadline = now_usec() + run->body.execution_time_ms * USEC_PER_MSEC;
        q->log.container_id = run->life.id;
        r = lifecycle_attach(&run->life, &run->stream);
        if (r == -EREMOTEIO && (docker_status(run->docker) == 404 || docker_status(run->docker) == 409)) {
                /* Removed or stopped since the list: the cold path, as if the pool had been empty. */
                log_message(LOG_WARNING, "Warm container %s is gone (%s), running cold", run->life.id,
                        docker_message(run->docker));
                lifecycle_abandon(&run->life);
                q->log.container_id = NULL;
                return -ENOENT;
        }
        if (r < 0) {
                fail_engine(q, r, APIERROR_DOCKER_CONTAINER_ATTACH, "attach to container");
                return 0;
        }
        r = start_pump(q);
        if (r >= 0)
                pump_started(&run->pump);
        return r;
}

/*
 * A cold container: created, attached (before start, as docker run does: no output is missed), the payload
 * handed to the engine, started. After a stop signal nothing is created or started. From the start's answer
 * on the deadline runs.
 */
static enum outcome cold_container(struct request *q) {
        struct run *run = q->run;
        int r;

        if (request_stopped(q))
                return OUTCOME_INTERRUPTED;
        r = lifecycle_create(&run->life, run->image, run->body.memory, wall_deadline(q->config));
        q->log.container_id = run->life.id;
        if (r < 0) {
                fail_engine(q, r, APIERROR_DOCKER_CONTAINER_CREATE, "create container");
                return OUTCOME_ANSWER;
        }
        r = lifecycle_attach(&run->life, &run->stream);
        if (r < 0) {
                fail_engine(q, r, APIERROR_DOCKER_CONTAINER_ATTACH, "attach to container");
                return OUTCOME_ANSWER;
        }
        if (start_pump(q) < 0)
                return OUTCOME_ANSWER;
        /* The engine holds stdin until the container runs: the payload waits there, not on a round trip. */
        pump_send_now(&run->pump);
        if (request_stopped(q))
                return OUTCOME_INTERRUPTED;
        r = lifecycle_start(&run->life);
        if (r < 0) {
                fail_engine(q, r, APIERROR_DOCKER_CONTAINER_START, "start container");
                return OUTCOME_ANSWER;
        }
        run->deadline = now_usec() + run->body.execution_time_ms * USEC_PER_MSEC;
        pump_started(&run->pump);
        return OUTCOME_ANSWER;
}

static enum outcome run_container(struct request *q) {
        struct run *run = q->run;
        enum outcome o = OUTCOME_ANSWER;
        usec_t t;

        if (request_stopped(q))
                return OUTCOME_INTERRUPTED;
        if (warm_container(q) == -ENOENT)
                o = cold_container(q);
        if (o != OUTCOME_ANSWER || q->answer.failed)
                return o;
        t = now_usec();
        o = judge(q, pump_run(&run->pump, run->deadline));
        q->log.run_usec = now_usec() - t;
        return o;
}

enum outcome run_serve(struct request *q) {
        const struct config *c = q->config;
        int r;

        q->run = calloc(1, sizeof(*q->run));
        if (!q->run) {
                answer_fail(&q->answer, APIERROR_INTERNAL, "Out of memory");
                return OUTCOME_ANSWER;
        }
        if (parse_body(q) < 0)
                return OUTCOME_ANSWER;
        if (!config_image_allowed(c, q->run->image)) {
                answer_fail(&q->answer, APIERROR_REQUEST_IMAGE_NOT_ALLOWED,
                        "Image '%s' is not in RUN_IMAGE_ALLOWLIST", q->run->image);
                return OUTCOME_ANSWER;
        }
        r = docker_new(c->docker_socket_path, c->docker_read_timeout_ms, &q->run->docker);
        if (r < 0) {
                answer_fail(&q->answer, APIERROR_INTERNAL, "Out of memory");
                return OUTCOME_ANSWER;
        }
        lifecycle_init(&q->run->life, q->run->docker, c, q->id);
        return run_container(q);
}

/* One run, one warm container: the pool is topped up by the handler that used it, after all else. */
static void replace_warm_container(struct request *q) {
        struct run *run = q->run;
        const struct config *c = q->config;
        int r;

        /* After a stop signal nothing new is started. */
        if (!run->life.warm || c->debug_keep_container || request_stopped(q))
                return;
        r = pool_fill(run->docker, c, run->image, config_warm_count(c, run->image), 1);
        if (r < 0)
                log_message(LOG_WARNING, "Failed to start a warm container for %s: %s, ignoring", run->image,
                        docker_message(run->docker));
}

void run_finish(struct request *q) {
        struct run *run = q->run;

        if (!run)
                return;
        /* The stream goes first: the engine ends a StdinOnce container's attach when it is closed. */
        run->stream = docker_stream_free(run->stream);
        if (lifecycle_remove(&run->life, now_usec() + REMOVE_USEC) < 0)
                log_message(LOG_ERR, "Failed to remove container %s: %s", run->life.id ?: run->life.name,
                        docker_message(run->docker));
        q->log.claim_usec = run->life.claim_usec;
        q->log.create_usec = run->life.create_usec;
        q->log.attach_usec = run->life.attach_usec;
        q->log.start_usec = run->life.start_usec;
        q->log.remove_usec = run->life.remove_usec;
}

void run_release(struct request *q) {
        if (!q->run)
                return;
        replace_warm_container(q);
        q->run = run_free(q->run);
}
