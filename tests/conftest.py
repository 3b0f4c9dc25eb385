import os

# Qt without a screen: the window tests draw offscreen unless a display is asked for explicitly.
if not os.environ.get("PITCHREC_TEST_DISPLAY"):
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
