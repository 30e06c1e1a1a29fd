from .processor import Processor
from .spec import ProcessingEnvironment, ProcessingInput, ProcessingOutput

__all__ = ["ProcessingEnvironment", "ProcessingInput", "ProcessingOutput", "Processor"]
