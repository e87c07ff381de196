"""course_lib: the helper package behind the convcourse notebooks.

Submodules (import the one you need; nothing heavy is imported here):

- ``validation`` the argument checks every module shares (ints, int tuples): the bottom layer
- ``geometry`` the sliding-window arithmetic (output length, padding), used by ops and shapes
- ``ops``      convolution, pooling, dense and locally connected maths (loops / numpy / torch)
- ``shapes``   output sizes, receptive fields, parameter and FLOP counts
- ``nn``       PyTorch modules used in the lessons
- ``data``     EKG and MNIST data sets (embedded defaults, real loaders, caching)
- ``train``    training loop with progress bars, seeding and device choice (``tensorboard_log``: its
  TensorBoard callback)
- ``viz``      matplotlib figures
- ``widgets``  ipywidgets: conv explorer, flashcards, quizzes
- ``study``    flashcard decks, FSRS scheduling, the progress store
- ``checks``   self-checks with diagnosing feedback
- ``device``   the one place that chooses CUDA, MPS or CPU
- ``drills``, ``motifs``, ``overview``: interview drills, lesson 01's toy signals, lesson 00's progress table
- ``lazy``     the lazy-import helper of ``viz`` and ``widgets``
"""

__version__ = "0.1.0"
