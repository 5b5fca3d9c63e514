"""HTTP routes of the batch service."""

from fastapi import APIRouter

router = APIRouter()
