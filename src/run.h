/* SPDX-License-Identifier: MIT */
/* run: POST /run from its body to its answer: the checks, the container, the stream, the verdict. */
#pragma once

#include "request.h"

/* Serve POST /run: decide q->answer; the container stays for run_finish(). */
enum outcome run_serve(struct request *q);

/* After the answer is written: remove the container (retrying), fill in the engine phases of q->log. */
void run_finish(struct request *q);

/* After the request's record is logged: top the warm pool up, free the run. */
void run_release(struct request *q);
