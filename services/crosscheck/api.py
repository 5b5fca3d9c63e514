"""HTTP routes of the crosscheck service."""

from fastapi import APIRouter

router = APIRouter()
