@echo off
rem tools\grade.cmd - grade a class on Windows with Visual Studio's cl.
rem
rem   tools\grade.cmd STEP DIR [run_tests options, e.g. --case echo,stream]
rem
rem STEP is the folder's full name (04_select). Run it from a "x64 Native
rem Tools Command Prompt for VS". DIR holds one submission per student: a
rem folder NAME\ with the student's server.c, or NAME.exe. Every folder
rem with a server.c is built with the step's own lab.h and /W4 /WX into
rem NAME\server.exe; a failed build leaves NAME\build.log. Then
rem build\run_tests.exe --grade DIR --only STEP grades them all:
rem DIR\grades.csv and DIR\NAME.feedback.txt (tests\grade.c).
setlocal enabledelayedexpansion
if "%~2"=="" (
  echo usage: tools\grade.cmd STEP DIR [run_tests options]
  exit /b 2
)
set ROOT=%~dp0..
set STEP=%~1
set DIR=%~f2
if not exist "%ROOT%\%STEP%\lab.h" (
  echo grade: no step folder %STEP% with a lab.h
  exit /b 2
)
where cl >nul 2>nul || (
  echo grade: no cl: run this from a "x64 Native Tools Command Prompt for VS"
  exit /b 2
)
for /d %%D in ("%DIR%\*") do (
  if exist "%%D\server.c" (
    set B=%TEMP%\lab-grade-%%~nxD
    if exist "!B!" rd /s /q "!B!"
    md "!B!"
    copy /y "%%D\server.c" "!B!\server.c" >nul
    copy /y "%ROOT%\%STEP%\lab.h" "!B!\lab.h" >nul
    if exist "%%D\server.exe" del "%%D\server.exe"
    if exist "%%D\build.log" del "%%D\build.log"
    cl /nologo /W4 /WX /DWIN32_LEAN_AND_MEAN /D_WIN32_WINNT=0x0601 /Fo"!B!\server.obj" /Fe"%%D\server.exe" "!B!\server.c" ws2_32.lib mswsock.lib user32.lib > "%%D\build.log" 2>&1
    if errorlevel 1 (
      echo grade: %%~nxD: server.c does not build, see %%D\build.log
      if exist "%%D\server.exe" del "%%D\server.exe"
    ) else (
      del "%%D\build.log"
    )
    rd /s /q "!B!"
  )
)
shift
shift
set REST=
:more
if "%~1"=="" goto run
set REST=%REST% %1
shift
goto more
:run
"%ROOT%\build\run_tests.exe" --grade "%DIR%" --only %STEP% %REST%
exit /b %errorlevel%
