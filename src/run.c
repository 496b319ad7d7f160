/* SPDX-License-Identifier: MIT */
/* run: POST /run from its body to its answer: the checks, the container, the stream, the verdict. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "body.h"
#include "docker.h"
#include "engineinfo.h"
#include "lifecycle.h"
#include "log.h"
#include "metrics.h"
#include "pool.h"
#include "pump.h"
#include "run.h"
#include "slots.h"

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
        struct slots *slots; /* the run's slot on this host, held until the container is disposed of */
        unsigned slot_count;
        usec_t queue_usec; /* waited for the slot */
        struct engine_info engine;
        size_t engine_index; /* into config->engines: the engine the run went to */
        bool next_engine;    /* the engine could not be reached and nothing exists there: try the next */
        bool last_engine;    /* no other engine is left to try */
        bool engine_lost;    /* the engine stopped answering during the run: its removal is the sweeper's */
};

static struct run *run_free(struct run *r) {
        if (!r)
                return NULL;
        if (r->pumped)
                pump_done(&r->pump);
        docker_stream_free(r->stream);
        lifecycle_done(&r->life);
        docker_free(r->docker);
        slots_free(r->slots);
        free(r);
        return NULL;
}

/* An engine call failed: the socket is unreachable, the engine said no, or it was too slow: the service's
 * load, never the user's code. */
static void fail_engine(struct request *q, int r, enum apierror refused, const char *what) {
        struct docker *d = q->run->docker;

        if (r == -EREMOTEIO || r == -EBADMSG)
                answer_fail(&q->answer, refused, "Failed to %s: %s", what, docker_message(d));
        else if (r == -ENOMEM || r == -ELIBACC)
                answer_fail(&q->answer, APIERROR_INTERNAL, "The engine client is unavailable: %s",
                        r == -ENOMEM ? "out of memory" : docker_message(d));
        else if (r == -ETIMEDOUT) {
                answer_fail(&q->answer, APIERROR_DOCKER_BUSY,
                        "The engine is busy: it did not %s within %llu ms "
                        "(DOCKER_UNIX_SOCKET_READ_TIMEOUT): %s",
                        what, (unsigned long long)q->config->docker_read_timeout_ms, docker_message(d));
                q->answer.retry_after = (unsigned)((q->config->docker_read_timeout_ms + 999) / 1000);
        } else
                answer_fail(&q->answer, APIERROR_DOCKER_UNIXSOCKET, "Unix socket failure: %s",
                        docker_message(d));
}

/* Runs at once on this host: RUN_MAX_CONCURRENT, else twice the engines' CPUs (from their cached /info),
 * else twice this host's. Never an engine call: the answer to a full host comes before any. */
static unsigned slot_count(const struct config *c) {
        struct engine_info i;
        long cpus;

        cpus = 0;
        if (c->max_concurrent > 0)
                return c->max_concurrent;
        for (size_t k = 0; k < c->n_engines; k++)
                if (engineinfo_cached(c->runtime_dir, &c->engines[k], &i) == 0 && i.ncpu > 0)
                        cpus += i.ncpu;
        if (cpus == 0)
                cpus = sysconf(_SC_NPROCESSORS_ONLN);
        if (cpus < 1)
                cpus = 1;
        return cpus * 2 > CONFIG_CONCURRENT_MAX ? CONFIG_CONCURRENT_MAX : (unsigned)cpus * 2;
}

/* Every engine is marked down (by a run or a /health check of this host within ENGINE_DOWN_SEC) and none
 * answers a /_ping now: a run would only wait in the queue behind runs that cannot end well either. */
static bool every_engine_down(const struct config *c, char *why, size_t size) {
        for (size_t i = 0; i < c->n_engines; i++)
                if (!engine_is_down(c->runtime_dir, &c->engines[i]))
                        return false;
        for (size_t i = 0; i < c->n_engines; i++) {
                _cleanup_docker_ struct docker *d = NULL;

                if (docker_new(&c->engines[i], c->cert_path, c->docker_read_timeout_ms,
                            c->docker_write_timeout_ms, &d) < 0)
                        return false;
                if (docker_ping(d) >= 0) {
                        engine_mark_up(c->runtime_dir, &c->engines[i]);
                        return false;
                }
                if (i == 0)
                        snprintf(why, size, "%s", docker_message(d));
        }
        return true;
}

/* Wait for a run slot, first come first served, at most RUN_QUEUE_TIMEOUT; before the run's deadline starts.
 */
static enum outcome admit(struct request *q) {
        const struct config *c = q->config;
        struct run *run = q->run;
        struct pollfd cancel[2];
        size_t n_cancel = 0;
        unsigned waiting = 0;
        char why[512] = "";
        int r;

        if (every_engine_down(c, why, sizeof(why))) {
                answer_fail(&q->answer, APIERROR_DOCKER_UNIXSOCKET,
                        "Unix socket failure: no engine of this host answers: %s", why);
                return OUTCOME_ANSWER;
        }
        run->slot_count = slot_count(c);
        r = slots_open(c->runtime_dir, run->slot_count, &run->slots);
        if (r < 0) {
                log_message(LOG_ERR, "Failed to open the run slots in %s: %s", c->runtime_dir, strerror(-r));
                answer_fail(
                        &q->answer, APIERROR_INTERNAL, "The run slots are unavailable: %s", strerror(-r));
                return OUTCOME_ANSWER;
        }
        if (conn_hangup_events(q->conn))
                cancel[n_cancel++] =
                        (struct pollfd){ .fd = q->conn->in_fd, .events = conn_hangup_events(q->conn) };
        if (q->sigfd >= 0)
                cancel[n_cancel++] = (struct pollfd){ .fd = q->sigfd, .events = POLLIN };
        r = slots_acquire(run->slots, now_usec() + c->queue_timeout_ms * USEC_PER_MSEC, cancel, n_cancel,
                &run->queue_usec);
        if (r == -ECANCELED)
                return request_stopped(q) ? OUTCOME_INTERRUPTED : OUTCOME_CLIENT_GONE;
        if (r == -ETIMEDOUT) {
                (void)slots_waiting(c->runtime_dir, &waiting);
                answer_fail(&q->answer, APIERROR_LIMITS_CONCURRENCY,
                        "Too many runs at once: all %u run slots of this host are busy (RUN_MAX_CONCURRENT) "
                        "and "
                        "none came free within %llu ms (RUN_QUEUE_TIMEOUT)",
                        run->slot_count, (unsigned long long)c->queue_timeout_ms);
                /* A rough guess of when a slot is free for it: a second per round of the queue ahead. */
                q->answer.retry_after = 1 + waiting / run->slot_count;
                return OUTCOME_ANSWER;
        }
        if (r < 0) {
                answer_fail(&q->answer, APIERROR_INTERNAL, "Failed to take a run slot: %s", strerror(-r));
                return OUTCOME_ANSWER;
        }
        return OUTCOME_ANSWER;
}

/* What the engine can enforce, from its cached /info: never a run without the configured limits. */
static int check_engine(struct request *q) {
        struct run *run = q->run;
        char why[512];
        int r;

        r = engineinfo_get(run->docker, q->config->runtime_dir, &run->engine);
        if (r < 0 && !run->last_engine && r != -EREMOTEIO && r != -ENOMEM && r != -ELIBACC) {
                run->next_engine = true; /* not reached: nothing was asked of it */
                return r;
        }
        if (r < 0) {
                fail_engine(q, r, APIERROR_DOCKER_UNIXSOCKET, "ask the engine what it can enforce");
                return r;
        }
        r = engineinfo_check(&run->engine, q->config, why, sizeof(why));
        if (r < 0) {
                log_message(LOG_ERR, "Refusing to run: %s", why);
                answer_fail(&q->answer,
                        q->config->container_runtime && strstr(why, "RUNTIME") ? APIERROR_DOCKER_RUNTIME
                                                                               : APIERROR_DOCKER_LIMITS,
                        "The engine cannot enforce the configured limits: %s", why);
        }
        return r;
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

/*
 * The stream ended before the runner answered: when the engine says the out-of-memory killer ended the
 * container (under gVisor it ends the whole sandbox, the runner with it), that is the answer; any other end
 * is judged by what the runner wrote. Asked only on this path: one engine call, bounded by a second.
 */
static bool ended_out_of_memory(struct request *q) {
        struct run *run = q->run;
        struct docker_state st;
        usec_t wait = q->config->docker_read_timeout_ms * USEC_PER_MSEC;

        if (wait > USEC_PER_SEC)
                wait = USEC_PER_SEC;
        if (lifecycle_state(&run->life, now_usec() + wait, &st) < 0 || !st.oom_killed)
                return false;
        answer_fail(&q->answer, APIERROR_LIMITS_MEMORY,
                "Memory limit exceeded (%lld bytes): the out-of-memory killer ended the run (exit code %d)",
                (long long)run->body.memory, st.exit_code);
        return true;
}

/* The engine stopped answering during the run: marked down for the runs of this host, and the container
 * left to the sweeper after one attempt (its slot would otherwise stay held while removal is retried). */
static void engine_lost(struct request *q) {
        struct run *run = q->run;

        run->engine_lost = true;
        engine_mark_down(q->config->runtime_dir, &q->config->engines[run->engine_index]);
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
                        engine_lost(q);
                        return OUTCOME_ANSWER;
                }
                if (!run->pump.watch.complete && ended_out_of_memory(q))
                        return OUTCOME_ANSWER;
                take_runner_output(q, &run->pump);
                return OUTCOME_ANSWER;
        case PUMP_TRUNCATED:
                answer_fail(&q->answer, APIERROR_DOCKER_STREAM_READ,
                        "Failed while reading stream: it ended inside a frame");
                return OUTCOME_ANSWER;
        case PUMP_DEADLINE:
                /* The deadline may be an engine gone from the network or hung: not the code's fault then.
                 * One /_ping, bounded by a second (the answer's bound, README "Bounds"). */
                if (docker_ping_within(run->docker, 1000) < 0) {
                        answer_fail(&q->answer, APIERROR_DOCKER_UNIXSOCKET,
                                "Unix socket failure: the engine stopped answering during the run: %s",
                                docker_message(run->docker));
                        engine_lost(q);
                        return OUTCOME_ANSWER;
                }
                answer_fail(&q->answer, APIERROR_LIMITS_EXECUTION_TIME,
                        "Max execution time exceeded (%llu ms)",
                        (unsigned long long)run->body.execution_time_ms);
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
                /* Podman may deliver a stdout frame before the stderr frame written earlier: an early answer
                 * could miss the runner's stderr, so there the exit decides. */
                .early = !c->wait_for_exit && !run->engine.podman,
                .settle = PUMP_SETTLE_USEC,
                .quiet = PUMP_QUIET_USEC,
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
        /* Another engine may serve it: this one was not reached, or refused with an error of its own (5xx),
         * and no container exists for the request. Never two. */
        if (r < 0 && !run->last_engine && !run->life.maybe_created && r != -ENOMEM && r != -ELIBACC &&
                (r != -EREMOTEIO || docker_status(run->docker) >= 500)) {
                run->next_engine = true;
                return OUTCOME_ANSWER;
        }
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
        if (o != OUTCOME_ANSWER || q->answer.failed || run->next_engine)
                return o;
        t = now_usec();
        o = judge(q, pump_run(&run->pump, run->deadline));
        q->log.run_usec = now_usec() - t;
        return o;
}

/* The request id is random: its bytes seed the tie-breaks between engines equally busy. */
static uint64_t seed_of(const char *id) {
        uint64_t h = 0xcbf29ce484222325ULL;

        for (; *id; id++)
                h = (h ^ (unsigned char)*id) * 0x100000001b3ULL;
        return h;
}

/*
 * The engines in the order this run tries them: up before down, fewest runs of this host in flight first
 * (the run slots' tags), ties at random. An engine that cannot be reached before anything exists there is
 * marked down for every handler and the next one is tried; the first that takes the run keeps it.
 */
static enum outcome run_on_engines(struct request *q) {
        const struct config *c = q->config;
        struct run *run = q->run;
        unsigned in_flight[ENGINES_MAX] = { 0 }, held = 0;
        bool down[ENGINES_MAX] = { false };
        size_t order[ENGINES_MAX];
        enum outcome o = OUTCOME_ANSWER;
        int r;

        if (c->n_engines > 1) {
                (void)slots_count(c->runtime_dir, run->slot_count, &held, in_flight, c->n_engines);
                for (size_t i = 0; i < c->n_engines; i++)
                        down[i] = engine_is_down(c->runtime_dir, &c->engines[i]);
        }
        engine_order(c->n_engines, in_flight, down, seed_of(q->id), order);
        for (size_t k = 0; k < c->n_engines; k++) {
                size_t i = order[k];

                run->engine_index = i;
                run->last_engine = k + 1 == c->n_engines;
                run->next_engine = false;
                q->log.engine = c->engines[i].name;
                q->log.engine_in_message = c->n_engines > 1;
                r = docker_new(&c->engines[i], c->cert_path, c->docker_read_timeout_ms,
                        c->docker_write_timeout_ms, &run->docker);
                if (r < 0) {
                        answer_fail(&q->answer, APIERROR_INTERNAL, "The engine client is unavailable: %s",
                                docker_new_error(r));
                        return OUTCOME_ANSWER;
                }
                if (c->n_engines > 1)
                        (void)slots_set_tag(run->slots, (unsigned)i);
                lifecycle_init(&run->life, run->docker, c, q->id);
                if (check_engine(q) >= 0)
                        o = run_container(q);
                if (!run->next_engine) {
                        if (down[i] && !q->answer.failed)
                                engine_mark_up(c->runtime_dir, &c->engines[i]);
                        return o;
                }
                log_message(LOG_WARNING,
                        "Engine %s cannot be reached (%s): passed over for %d s, trying the next",
                        c->engines[i].name, docker_message(run->docker), ENGINE_DOWN_SEC);
                engine_mark_down(c->runtime_dir, &c->engines[i]);
                q->log.container_id = NULL;
                lifecycle_done(&run->life);
                run->docker = docker_free(run->docker);
        }
        return o;
}

static enum outcome serve(struct request *q) {
        const struct config *c = q->config;
        enum outcome o;

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
        o = admit(q);
        if (o != OUTCOME_ANSWER || q->answer.failed)
                return o;
        return run_on_engines(q);
}

/* What happened to the run, in headers of the answer (whatever it is); the body stays the runner's. */
static void run_headers(struct request *q) {
        struct run *run = q->run;
        const struct body_request *b = &run->body;
        usec_t d = now_usec() - q->t0;

        (void)answer_header(&q->answer, "X-Docker-Run-Duration: %llu.%06llu",
                (unsigned long long)(d / USEC_PER_SEC), (unsigned long long)(d % USEC_PER_SEC));
        (void)answer_header(&q->answer, "X-Docker-Run-Queue-Wait: %llu.%06llu",
                (unsigned long long)(run->queue_usec / USEC_PER_SEC),
                (unsigned long long)(run->queue_usec % USEC_PER_SEC));
        (void)answer_header(&q->answer, "X-Docker-Run-Warm: %s", run->life.warm ? "true" : "false");
        (void)answer_header(&q->answer,
                "X-Docker-Run-Limits: executionTime=%llu.%03llu, outputSize=%llu, memory=%lld",
                (unsigned long long)(b->execution_time_ms / 1000),
                (unsigned long long)(b->execution_time_ms % 1000), (unsigned long long)b->output_size,
                (long long)b->memory);
}

enum outcome run_serve(struct request *q) {
        enum outcome o = serve(q);

        if (q->run && q->run->body.image[0])
                run_headers(q);
        return o;
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

/* The run in the shared counters: its result, its phases, whether the pool served it. */
static void count(struct request *q) {
        struct run *run = q->run;
        struct metrics *m = q->metrics;
        const struct lifecycle *l = &run->life;

        if (!run->body.image[0])
                return; /* refused before it was a run */
        if (q->answer.failed)
                metrics_run_error(m, (unsigned)q->answer.error);
        else if (q->answer.status == 200)
                metrics_run_ok(m);
        if (config_warm_count(q->config, run->image) > 0)
                metrics_warm(m, l->warm);
        metrics_run_duration(m, now_usec() - q->t0);
        if (run->slots)
                metrics_queue_wait(m, run->queue_usec);
        if (l->claim_usec)
                metrics_engine_phase(m, (unsigned)run->engine_index, METRICS_PHASE_CLAIM, l->claim_usec);
        if (l->create_usec)
                metrics_engine_phase(m, (unsigned)run->engine_index, METRICS_PHASE_CREATE, l->create_usec);
        if (l->attach_usec)
                metrics_engine_phase(m, (unsigned)run->engine_index, METRICS_PHASE_ATTACH, l->attach_usec);
        if (l->start_usec)
                metrics_engine_phase(m, (unsigned)run->engine_index, METRICS_PHASE_START, l->start_usec);
        if (q->log.run_usec)
                metrics_engine_phase(m, (unsigned)run->engine_index, METRICS_PHASE_RUN, q->log.run_usec);
        if (l->remove_usec)
                metrics_engine_phase(m, (unsigned)run->engine_index, METRICS_PHASE_REMOVE, l->remove_usec);
        if (q->answer.failed &&
                (q->answer.error == APIERROR_DOCKER_UNIXSOCKET || q->answer.error == APIERROR_DOCKER_BUSY))
                metrics_engine_failure(m, (unsigned)run->engine_index);
}

void run_finish(struct request *q) {
        struct run *run = q->run;

        if (!run)
                return;
        /* The stream goes first: the engine ends a StdinOnce container's attach when it is closed. */
        run->stream = docker_stream_free(run->stream);
        if (lifecycle_remove(&run->life, now_usec() + (run->engine_lost ? 0 : REMOVE_USEC)) < 0)
                log_message(LOG_ERR, "Failed to remove container %s: %s%s", run->life.id ?: run->life.name,
                        docker_message(run->docker),
                        run->engine_lost ? " (the engine is lost: left to the sweeper)" : "");
        q->log.claim_usec = run->life.claim_usec;
        q->log.warm = run->life.warm;
        q->log.create_usec = run->life.create_usec;
        q->log.attach_usec = run->life.attach_usec;
        q->log.start_usec = run->life.start_usec;
        q->log.remove_usec = run->life.remove_usec;
        count(q);
}

void run_release(struct request *q) {
        if (!q->run)
                return;
        replace_warm_container(q);
        q->run = run_free(q->run);
}
