"""The suggested home exercises a clinic's admin may add, per therapy type, with one button.

Data, not panel words (like the assessment templates' defaults): they are copied into the
clinic's library as written, in English, and the clinic edits its own copies.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SuggestedExercise:
    name: str
    instructions: str


DEFAULT_EXERCISES: dict[str, tuple[SuggestedExercise, ...]] = {
    "speech": (
        SuggestedExercise(
            "Mirror sound practice",
            "Sit with your child in front of a mirror. Say the target sound slowly and let "
            "your child copy it, watching their lips and tongue. Ten tries, praise each one.",
        ),
        SuggestedExercise(
            "Picture naming",
            "Show 10 pictures of everyday things. Ask your child to name each one. If a word "
            "is hard, say it once clearly and let them try again.",
        ),
        SuggestedExercise(
            "Blowing games",
            "Blow bubbles, a feather or a cotton ball across the table through a straw for "
            "5 minutes, to build breath control and lip strength.",
        ),
        SuggestedExercise(
            "Story talk",
            "Read a short picture book together. Stop on each page and ask what is "
            "happening; wait for an answer before you read on.",
        ),
    ),
    "occupational": (
        SuggestedExercise(
            "Playdough squeeze",
            "Roll, squeeze and pinch playdough into balls and snakes for 5 minutes with each "
            "hand, to strengthen the fingers.",
        ),
        SuggestedExercise(
            "Bead threading",
            "Thread 20 large beads onto a string, holding the string in one hand and the bead "
            "in the other. Use smaller beads as it gets easy.",
        ),
        SuggestedExercise(
            "Tracing lines and shapes",
            "Trace straight lines, curves and circles on paper with a thick crayon, staying "
            "on the line. Five shapes each time.",
        ),
    ),
    "physiotherapy": (
        SuggestedExercise(
            "Heel raises",
            "Stand holding a chair. Rise slowly onto the toes, hold for 3 seconds and lower. "
            "Ten times.",
        ),
        SuggestedExercise(
            "Bridging",
            "Lie on the back with knees bent and feet flat. Lift the hips off the floor, hold "
            "for 5 seconds and lower slowly. Ten times.",
        ),
        SuggestedExercise(
            "Single-leg balance",
            "Stand on one leg next to a wall for up to 30 seconds, then the other leg. Three "
            "times each side.",
        ),
        SuggestedExercise(
            "Hamstring stretch",
            "Sit with one leg straight and reach gently towards the toes until a stretch is "
            "felt. Hold for 20 seconds, three times each leg.",
        ),
    ),
}
