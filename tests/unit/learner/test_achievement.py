from helpers.learner.achievement import NEXT_STEPS, Achievement


def test_headline_gives_both_sizes_and_the_factor():
    won = Achievement(759_894_064, 5_066_407, "measured now")
    assert won.factor == 759_894_064 / 5_066_407
    assert "5.1 MB" in won.headline() and "760 MB" in won.headline()
    assert "150 times smaller" in won.headline()
    assert all(step in won.text() for step in NEXT_STEPS)
