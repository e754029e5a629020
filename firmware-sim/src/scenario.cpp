// scenario
