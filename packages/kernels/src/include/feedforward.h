/*
 * The parameter block shared by the feed-forward SparseNet's training kernels (feedforward.c,
 * mixing.c, thetaEstimator.c): int32 words, indices FB_* (mirrored in
 * src/models/sparseNetNative.ts), sizes first, then byte offsets into the shared memory.
 */
#ifndef SGPROP_FEEDFORWARD_H
#define SGPROP_FEEDFORWARD_H
#include "simd.h"

enum {
  FB_N, FB_W, FB_M, FB_Q, FB_P, FB_D, FB_KP, FB_DP, FB_KPS, FB_RESIDUAL, FB_LAYER0, FB_WITH_SG, FB_XDIM,
  FB_MODE, FB_ADAPTIVE, FB_NEED_PARAMS, FB_NEED_DU,
  /* byte offsets */
  FB_SRC, FB_IDX, FB_WP, FB_B, FB_SGB, FB_WSG, FB_WCAT,
  FB_U, FB_ALPHA, FB_Y, FB_H, FB_TANH, FB_SGLIN, FB_SGPRED,
  FB_G, FB_DZ, FB_DW, FB_DB, FB_DU, FB_DHPREV,
  FB_GTRUE, FB_THETA, FB_MIXED, FB_SUMS, FB_THETA_BATCH,
  FB_FLOAT_ARG, /* a float: eps of eq. 3 for ff_mix, the loss-gradient scale for ff_sg_grad */
  FB_TARGET, FB_DSGA, FB_DSGB, FB_SGLOSS,
  FB_SCRATCH, FB_SCRATCH_FLOATS,
  FB_COUNT
};

#define PTR(T, k) ((T*)prm[k])

static inline float* scratch_slot(const int* prm, int slot) {
  return PTR(float, FB_SCRATCH) + (slot == 0 ? 0 : prm[FB_SCRATCH_FLOATS]);
}

/* eq. 3 for neuron i (thetaEstimator.c). */
float estimate_theta(const int* prm, int i, const float* gs, const float* ss, float* scr, float prev);

#endif
