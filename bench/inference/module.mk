# bench/inference: the C tree evaluator against libxgboost's own predictor.
inference_LDLIBS += -lxgboost
